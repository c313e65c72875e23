/**
 * runBench: the scaling matrix in one run. Starts every process the chosen
 * cells need on free ports, then runs each cell once per repetition in a
 * seeded shuffled order (A B A B ..., never all of A then all of B), with a
 * short warm-up before each measured run, and reports medians, ratios and
 * targets. The machines here drift ±30 % from run to run: only ratios within
 * one run mean much.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { runAutocannon } from '../load/autocannon.js'
import { runOpenModel } from '../load/open-model.js'
import { runWrk } from '../load/wrk.js'
import { REPORTS_DIR, SERVER_SCRIPT } from '../paths.js'
import { runName, writeResult } from '../run.js'
import { onInterrupt } from '../system/interrupt.js'
import type { BenchCell, BenchResult, LoadSummary } from '../results.js'
import { findBinary } from '../system/binaries.js'
import { nginxVersion } from '../stack/nginx.js'
import { busyPorts } from '../system/ports.js'
import { redisVersion } from '../system/redis-server.js'
import { Fleet, type Group, type StartedProcess } from './fleet.js'
import { benchTables, renderBenchMarkdown, fmtCount, fmtMs, fmtNumber, type MachineRow } from './markdown.js'
import { BENCH_KEY, INCR_PATH, KV_PATH, needsOf, POOLS, selectCells, STACK_CELL, STACK_DESCRIPTION, type CellSpec } from './matrix.js'
import { cpuSecondsBetween, machineSeconds, reapedChildrenSeconds, snapshot } from './proc-cpu.js'
import { computeTargets, errorRate, medianCpu, medianOf } from './targets.js'
import { median, round, shuffled } from '../stats.js'

export type Engine = 'wrk' | 'autocannon'

export interface BenchOptions {
  /** Default: wrk when on PATH, else autocannon. */
  engine?: Engine
  /** Default 3. */
  repetitions?: number
  /** Seconds per measured run (default 5; 2 with quick). */
  durationSeconds?: number
  /** Default 100, like the seed's load test. */
  connections?: number
  /** The short matrix: a few cells, 2 s runs (for `npm run lab`). */
  quick?: boolean
  /** Cell ids or groups to run (default: all, or the quick ones). */
  cells?: string[]
  /** Output folder (default reports/<run>/). */
  out?: string
  /** Warm-up before each measured run (default 1 s; 0.5 s with quick). */
  warmupSeconds?: number
  /** Run the open-model latency check at half the stack's max (default true; needs the stack cell). */
  openModel?: boolean
  /** Seconds of each open-model run (default: the duration, at least 3). */
  openModelSeconds?: number
  /** N of GET /work?ms=N (default 5). */
  workMs?: number
  /** Progress lines (default console.log). */
  log?: (line: string) => void
  /** Told every process started (PIDs, children, ports) once all are up: lets a test check they are gone afterwards. */
  onStarted?: (processes: StartedProcess[]) => void
}

export class BenchError extends Error {
  override name = 'BenchError'
  constructor (message: string, readonly result?: BenchResult) {
    super(message)
  }
}

interface Measured {
  summary: LoadSummary
  cpu: BenchCell['cpuSeconds']
  /** CPU seconds of the kernel's softirqs (loopback networking, charged to no process) during the run. */
  softirq: number | null
  /** CPU seconds the rest of the machine used meanwhile: other work on a shared machine. */
  others: number | null
}

const HEADERS_JSON = { 'content-type': 'application/json' }

/** Cells the open model also visits at the stack's rate, when they are in the run. */
const OPEN_MODEL_COMPARISONS = ['nginx-1-kv-redis', 'nginx-2-kv-redis']

async function load (engine: Engine, cell: CellSpec, baseUrl: string, seconds: number, connections: number, label: string, signal: AbortSignal): Promise<LoadSummary> {
  const url = baseUrl + cell.path
  const headers = cell.body !== undefined ? HEADERS_JSON : undefined
  if (engine === 'wrk') {
    const { summary } = await runWrk({ label, url, connections, durationSeconds: seconds, method: cell.method, body: cell.body, headers, signal })
    return summary
  }
  const { summary } = await runAutocannon({
    label,
    url,
    connections,
    durationSeconds: seconds,
    requests: [{ method: cell.method, path: cell.path, ...(cell.body !== undefined ? { body: cell.body, headers } : {}) }]
  })
  delete summary.timeline
  return summary
}

async function measure (engine: Engine, cell: CellSpec, fleet: Fleet, seconds: number, connections: number, label: string, signal: AbortSignal): Promise<Measured> {
  const pids = fleet.groupPids()
  const before = Object.fromEntries((Object.keys(pids) as Group[]).map((g) => [g, snapshot(pids[g])])) as Record<Group, ReturnType<typeof snapshot>>
  const machineBefore = machineSeconds()
  const selfBefore = process.cpuUsage()
  const childrenBefore = reapedChildrenSeconds()
  const summary = await load(engine, cell, fleet.baseUrl(cell), seconds, connections, label, signal)
  const selfUsage = process.cpuUsage(selfBefore)
  const childrenAfter = reapedChildrenSeconds()
  const machineAfter = machineSeconds()
  const group = (g: Group) => round(cpuSecondsBetween(before[g], snapshot(pids[g])), 2)
  const cpu = {
    // wrk's CPU time lands in ours once it is reaped; autocannon runs in this process.
    loadgen: round(engine === 'wrk' ? childrenAfter - childrenBefore : (selfUsage.user + selfUsage.system) / 1e6, 2),
    nginx: group('nginx'),
    api: group('api'),
    redis: group('redis')
  }
  const ours = cpu.loadgen + cpu.nginx + cpu.api + cpu.redis + (engine === 'wrk' ? (selfUsage.user + selfUsage.system) / 1e6 : 0)
  if (machineBefore === null || machineAfter === null) return { summary, cpu, softirq: null, others: null }
  const softirq = machineAfter.softirq - machineBefore.softirq
  const others = machineAfter.busy - machineBefore.busy - softirq - ours
  return { summary, cpu, softirq: round(softirq, 2), others: round(Math.max(0, others), 2) }
}

/**
 * Waits until the bench's own processes are idle (under 0.3 of a core over 100 ms),
 * at most `maxMs`. A closed-loop run that stops leaves up to `connections` requests
 * queued in the servers (a CPU-bound route: ~1 s of work); without this the next
 * run would pay for them. Returns how long it waited, in seconds.
 */
async function settle (fleet: Fleet, maxMs = 10_000): Promise<number> {
  const pids = Object.values(fleet.groupPids()).flat()
  const start = performance.now()
  let last = snapshot(pids)
  for (;;) {
    await sleep(100)
    const now = snapshot(pids)
    if (cpuSecondsBetween(last, now) <= 0.03 || performance.now() - start > maxMs) return (performance.now() - start) / 1000
    last = now
  }
}

/** Writes the key the GET /kv cells read: once in Redis, and into every memory-store instance. */
async function seedData (fleet: Fleet): Promise<void> {
  const write = async (port: number) => {
    const res = await fetch(`http://127.0.0.1:${port}${KV_PATH}`, { method: 'POST', headers: HEADERS_JSON, body: JSON.stringify({ value: { hello: 'world', seededBy: 'scale-lab bench' } }) })
    if (!res.ok) throw new BenchError(`could not write ${KV_PATH} on port ${port}: ${res.status} ${await res.text()}`)
  }
  const redisPool = [...fleet.pools.entries()].find(([id]) => POOLS[id].store === 'redis')
  if (redisPool?.[1][0] !== undefined) await write(redisPool[1][0])
  for (const port of fleet.pools.get('memory') ?? []) await write(port)
}

/** One request per cell before any load: a wrong answer stops the bench before it measures nonsense. */
async function preflight (cells: readonly CellSpec[], fleet: Fleet): Promise<void> {
  for (const cell of cells) {
    const res = await fetch(fleet.baseUrl(cell) + cell.path, {
      method: cell.method,
      ...(cell.body !== undefined ? { body: cell.body, headers: HEADERS_JSON } : {}),
      signal: AbortSignal.timeout(10_000)
    })
    const body = await res.text()
    if (!res.ok) throw new BenchError(`cell ${cell.id}: ${cell.method} ${cell.path} answered ${res.status}: ${body.slice(0, 200)}`)
  }
}

/** Connections of a paced wrk run: many, so each one's think time (connections / rate) dwarfs the latency. */
const PACED_CONNECTIONS = 400

/**
 * The open model with wrk: paced at `rate`, after an unmeasured second that opens
 * the connections (their setup would otherwise sit in a short run's p99). wrk costs
 * about a tenth of the CPU per request of the node:http generator, CPU the stack
 * needs on a 2-core machine.
 */
async function pacedWrk (label: string, url: string, rate: number, seconds: number, signal: AbortSignal): Promise<LoadSummary> {
  const paced = { label: `${label} (wrk, paced)`, url, connections: PACED_CONNECTIONS, paceRps: rate, signal }
  await runWrk({ ...paced, durationSeconds: 1 })
  const { summary } = await runWrk({ ...paced, durationSeconds: Math.max(1, Math.round(seconds)) })
  return summary
}

export async function runBench (options: BenchOptions = {}): Promise<BenchResult> {
  const log = options.log ?? ((line: string) => console.log(line))
  const quick = options.quick === true
  const engine: Engine = options.engine ?? (findBinary('wrk') !== null ? 'wrk' : 'autocannon')
  if (engine === 'wrk' && findBinary('wrk') === null) throw new BenchError('--engine wrk: wrk is not on PATH (sudo apt-get install -y wrk), or use --engine autocannon')
  const repetitions = options.repetitions ?? 3
  const duration = options.durationSeconds ?? (quick ? 2 : 5)
  const connections = options.connections ?? 100
  const warmup = options.warmupSeconds ?? (quick ? 0.5 : 1)
  const workMs = options.workMs ?? 5
  if (!Number.isInteger(repetitions) || repetitions < 1) throw new BenchError('repetitions must be a whole number ≥ 1')
  if (!(duration > 0) || !Number.isInteger(connections) || connections < 1) throw new BenchError('duration and connections must be positive')
  if (engine === 'wrk' && !Number.isInteger(duration)) throw new BenchError('wrk takes whole seconds: --duration must be an integer')
  const cells = selectCells(options.cells, quick, workMs)
  const stackCell = cells.find((c) => c.id === STACK_CELL)
  const wantOpenModel = options.openModel !== false && stackCell !== undefined
  const openSeconds = options.openModelSeconds ?? Math.max(3, duration)

  const started = new Date()
  const run = runName(started)
  const outDir = resolve(options.out ?? join(REPORTS_DIR, run))
  if (!existsSync(SERVER_SCRIPT)) throw new BenchError(`${SERVER_SCRIPT} is missing: run npm run build first`)

  const needs = needsOf(cells)
  const fleet = new Fleet(mkdtempSync(join(tmpdir(), 'sl-bench-')), log)
  const aborter = new AbortController()
  // On Ctrl-C: stop the loads, then every process the bench started (the one
  // interrupt handler runs this, then whatever was registered before it).
  const unregister = onInterrupt(async () => {
    aborter.abort()
    await fleet.stop()
    rmSync(fleet.dir, { recursive: true, force: true })
  })

  const clock = performance.now()
  try {
    const meta: BenchResult['meta'] = {
      run,
      startedAt: started.toISOString(),
      host: {
        cpus: availableParallelism(),
        node: process.version,
        ...(needs.topologies.size > 0 ? { nginx: await nginxVersion() } : {}),
        ...(needs.redis ? { redis: await redisVersion() } : {})
      }
    }
    log(`scale-lab bench ${run}: ${cells.length} cells × ${repetitions} repetitions of ${duration} s, ${engine} at ${connections} connections, on ${meta.host.cpus} cores`)
    const pools = [...needs.pools].map(([id, n]) => `${id}×${n}`).join(', ') || 'none'
    log(`starting: redis ${needs.redis ? 'yes' : 'no'}, API instances ${pools}, nginx ×${needs.topologies.size}` +
      `${needs.express ? ', the seed\'s Express' : ''}${needs.clusterWorkers > 0 ? `, the seed's cluster ×${needs.clusterWorkers}` : ''}`)
    await fleet.start(needs)
    options.onStarted?.(fleet.processes.map((p) => ({ ...p, children: [...p.children] })))
    log(`up in ${((performance.now() - clock) / 1000).toFixed(1)} s: ${fleet.processes.length} processes (+${fleet.processes.reduce((n, p) => n + p.children.length, 0)} children)`)
    await seedData(fleet)
    await preflight(cells, fleet)

    // Fresh processes are cold (JIT, connection pools): one unmeasured round of every cell first.
    const firstWarmup = Math.max(1, Math.round(2 * warmup))
    if (warmup > 0) {
      log(`warm-up round: every cell once for ${firstWarmup} s, not measured`)
      for (const cell of cells) {
        await load(engine, cell, fleet.baseUrl(cell), firstWarmup, connections, 'warm-up', aborter.signal)
        await settle(fleet)
      }
    }

    const runs = new Map<string, Measured[]>(cells.map((c) => [c.id, []]))
    const total = cells.length * repetitions
    let done = 0
    for (let rep = 1; rep <= repetitions; rep++) {
      for (const cell of shuffled(cells, rep)) {
        if (aborter.signal.aborted) throw new BenchError('interrupted')
        await settle(fleet)
        if (warmup > 0) {
          await load(engine, cell, fleet.baseUrl(cell), engine === 'wrk' ? Math.max(1, Math.round(warmup)) : warmup, connections, 'warm-up', aborter.signal)
          await settle(fleet)
        }
        const m = await measure(engine, cell, fleet, duration, connections, `${cell.label} #${rep}`, aborter.signal)
        runs.get(cell.id)!.push(m)
        done++
        const s = m.summary
        log(`[${String(done).padStart(String(total).length)}/${total}] rep ${rep} ${cell.id.padEnd(28)} ${fmtCount(s.rps).padStart(7)} req/s` +
          `  p50 ${fmtMs(s.latencyMs.p50)} p99 ${fmtMs(s.latencyMs.p99)} ms  errors ${s.errors.total}` +
          `  cpu s: loadgen ${fmtNumber(m.cpu.loadgen)} nginx ${fmtNumber(m.cpu.nginx)} api ${fmtNumber(m.cpu.api)} redis ${fmtNumber(m.cpu.redis)} softirq ${fmtNumber(m.softirq)} others ${fmtNumber(m.others)}`)
      }
    }

    const benchCells: BenchCell[] = cells.map((spec) => {
      const measured = runs.get(spec.id)!
      const summaries = measured.map((m) => m.summary)
      return {
        id: spec.id,
        label: spec.label,
        group: spec.group,
        via: spec.via,
        instances: spec.instances,
        ...(spec.keepalive !== undefined ? { keepalive: spec.keepalive } : {}),
        route: spec.route,
        ...(spec.store !== undefined ? { store: spec.store } : {}),
        runs: summaries,
        median: medianOf(summaries),
        cpuSeconds: medianCpu(measured.map((m) => m.cpu))
      }
    })

    let openModel: LoadSummary | null = null
    const openModelOthers: LoadSummary[] = []
    let generatorUsPerRequest: number | null = null
    if (wantOpenModel) {
      const stack = benchCells.find((c) => c.id === STACK_CELL)!
      const rate = Math.max(1, Math.round(stack.median.rps / 2))
      // Interleaved like the cells, once per repetition: the stack, then the same rate through
      // fewer instances when the run has them (where the tail comes from). The stack's run with
      // the median p99 is the one reported.
      const targets = [stackCell, ...cells.filter((c) => OPEN_MODEL_COMPARISONS.includes(c.id))]
      log(`open model: GET ${KV_PATH} at ${fmtCount(rate)} req/s (half of the stack's median max), ${openSeconds} s a run, ${repetitions} × {${targets.map((c) => c.id).join(', ')}}`)
      const stackRuns: LoadSummary[] = []
      const generatorCpu: number[] = []
      for (let rep = 1; rep <= repetitions; rep++) {
        for (const target of targets) {
          await settle(fleet)
          const label = target === stackCell
            ? `open model, the stack's GET /kv at half of max (${fmtCount(rate)} req/s) #${rep}`
            : `open model, ${target.label} at the stack's rate #${rep}`
          const url = fleet.baseUrl(target) + KV_PATH
          const before = process.cpuUsage()
          const summary = engine === 'wrk'
            ? await pacedWrk(label, url, rate, openSeconds, aborter.signal)
            : await runOpenModel({ label, url, rate, durationSeconds: openSeconds, warmupSeconds: 1 })
          const used = process.cpuUsage(before)
          if (engine !== 'wrk' && summary.requests > 0) generatorCpu.push((used.user + used.system) / summary.requests)
          if (target === stackCell) stackRuns.push(summary)
          else openModelOthers.push(summary)
          log(`open model #${rep} ${target.id.padEnd(18)} ${fmtCount(summary.rps)} of ${fmtCount(rate)} req/s  p50 ${fmtMs(summary.latencyMs.p50)} p90 ${fmtMs(summary.latencyMs.p90)} p99 ${fmtMs(summary.latencyMs.p99)} ms  errors ${summary.errors.total}`)
        }
      }
      const byP99 = [...stackRuns].sort((a, b) => a.latencyMs.p99 - b.latencyMs.p99)
      openModel = byP99[Math.floor((byP99.length - 1) / 2)] ?? null
      openModelOthers.unshift(...stackRuns.filter((r) => r !== openModel))
      generatorUsPerRequest = generatorCpu.length > 0 ? round(median(generatorCpu), 1) : null
    }

    const result: BenchResult = {
      kind: 'bench',
      meta,
      engine,
      repetitions,
      durationSeconds: duration,
      connections,
      cells: benchCells,
      openModel,
      targets: computeTargets(benchCells, openModel, meta.host.cpus)
    }

    const elapsed = (performance.now() - clock) / 1000
    const machine: MachineRow[] = cells.map((c) => {
      const measured = runs.get(c.id)!
      const values = (pick: (m: Measured) => number | null) => measured.map(pick).filter((v): v is number => v !== null)
      const others = values((m) => m.others)
      return {
        id: c.id,
        softirq: values((m) => m.softirq).length > 0 ? round(median(values((m) => m.softirq)), 2) : null,
        others: others.length > 0 ? round(median(others), 2) : null,
        othersMax: others.length > 0 ? Math.max(...others) : null
      }
    })
    const cost = new Map(cells.map((c) => [c.id, round(median(runs.get(c.id)!.map((m) => m.summary.requests > 0 ? (m.cpu.nginx + m.cpu.api + m.cpu.redis) / m.summary.requests * 1e6 : Number.NaN)), 1)]))
    const notes = [
      `Key read by every GET /kv cell: "${BENCH_KEY}" (written before the runs); POST cells increment ${INCR_PATH} (through nginx each POST carries its own X-Request-Id, so each is applied once).`,
      `An unmeasured warm-up round of every cell first, then a warm-up of ${warmup} s before each measured run; cell order shuffled per repetition with a fixed seed. ` +
        'Before each load the bench waits until its processes are idle (a stopped closed loop leaves up to `connections` requests queued in the servers).',
      engine === 'wrk'
        ? `The open model, with wrk (Debian's has no rate option): ${PACED_CONNECTIONS} connections each wait a random (exponential) think time before each request, so requests arrive at about the rate asked, independently, like an open model's — close to one while the think time (about ${PACED_CONNECTIONS} ÷ rate) dwarfs the latency; latency is timed from each request's sending, so a stall would lower the rate rather than show as queueing. A first second, not measured, warms nginx's upstream connections.`
        : 'The open model sends request i at start + i/rate on up to 64 keep-alive sockets and counts latency from the scheduled time (coordinated omission corrected); ' +
          'its first second, on the same schedule, is not recorded (opening the sockets and nginx\'s upstream connections costs tens of ms).',
      ...(generatorUsPerRequest !== null
        ? [`The open-model generator (node:http in this process) used ${generatorUsPerRequest} µs of CPU per request (median), on the same cores as the stack; wrk needs about a tenth of that (CPU s loadgen above).`]
        : []),
      'Server CPU µs/req: (nginx + API + Redis CPU seconds) ÷ responses, median over repetitions. It excludes the load generator and the kernel\'s softirqs, and other work on the machine moves it far less than req/s.',
      `Whole bench: ${elapsed.toFixed(0)} s.`
    ]
    mkdirSync(outDir, { recursive: true })
    writeResult(outDir, 'bench.json', result)
    const extras = { notes, machine, cost, openModelOthers }
    writeFileSync(join(outDir, 'bench.md'), renderBenchMarkdown(result, extras))

    const tables = benchTables(result, extras)
    log('')
    log(`The stack: ${STACK_DESCRIPTION}.`)
    log('')
    log(tables.cells)
    if (tables.hotPath !== null) log('\n' + tables.hotPath)
    if (tables.openModel !== null) log('\n' + tables.openModel)
    log('\n' + tables.targets)
    log(`\nwritten: ${join(outDir, 'bench.json')} and bench.md (${elapsed.toFixed(0)} s in all)`)

    const failing = benchCells.flatMap((c) => c.runs.filter((r) => errorRate(r) > 0.01).map((r) => `${r.label}: ${r.errors.total} errors of ${r.requests} (${JSON.stringify(r.errors.byKind)})`))
    for (const run of [openModel, ...openModelOthers]) if (run !== null && errorRate(run) > 0.01) failing.push(`${run.label}: ${run.errors.total} errors (${JSON.stringify(run.errors.byKind)})`)
    if (failing.length > 0) throw new BenchError(`more than 1% errors, so the numbers mean little:\n  ${failing.join('\n  ')}`, result)
    return result
  } finally {
    unregister()
    const alive = await fleet.stop()
    const busy = await busyPorts(fleet.allPorts())
    rmSync(fleet.dir, { recursive: true, force: true })
    if (alive.length > 0 || busy.length > 0) log(`warning: still alive after stop: pids ${alive.join(', ') || 'none'}; ports still listening: ${busy.join(', ') || 'none'}`)
  }
}
