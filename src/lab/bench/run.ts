/**
 * runBench: the scaling matrix in one run. Starts every process the chosen
 * cells need on free ports, then runs each cell once per repetition in a
 * seeded shuffled order (A B A B ..., never all of A then all of B), with a
 * short warm-up before each measured run, and stores medians, ratios, cost per
 * request, hot-path effects and targets in bench.json. The machines here drift
 * ±30 % from run to run: only ratios within one run mean much. What it prints
 * at the end is the report's bench sections, as text.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { REPORTS_DIR, SERVER_SCRIPT } from '../paths.js'
import { formatCount, formatDecimal, formatNumber } from '../report/format.js'
import { emptyRun } from '../report/read-run.js'
import { buildSections } from '../report/sections/all.js'
import { toText } from '../report/to-text.js'
import type { BenchResult } from '../results.js'
import { runName, writeResult } from '../run.js'
import { nginxVersion } from '../stack/nginx.js'
import { findBinary } from '../system/binaries.js'
import { onInterrupt } from '../system/interrupt.js'
import { busyPorts } from '../system/ports.js'
import { redisVersion } from '../system/redis-server.js'
import { shuffled } from '../stats.js'
import { hotPathEffects, summariseCells } from './cells.js'
import { Fleet, type StartedProcess } from './fleet.js'
import { KV_PATH, needsOf, POOLS, selectCells, STACK_CELL, STACK_DESCRIPTION, type CellSpec } from './matrix.js'
import { HEADERS_JSON, load, measure, settle, type Engine, type Measured } from './measure.js'
import { benchNotes } from './notes.js'
import { runOpenModelRuns, type OpenModelRuns } from './open-model-runs.js'
import { computeTargets, errorRate } from './targets.js'

export type { Engine }

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

/** Writes the key the GET /kv cells read: once in each Redis (the one, the replicated one), and into every memory-store instance. */
async function seedData (fleet: Fleet): Promise<void> {
  const write = async (port: number) => {
    const res = await fetch(`http://127.0.0.1:${port}${KV_PATH}`, { method: 'POST', headers: HEADERS_JSON, body: JSON.stringify({ value: { hello: 'world', seededBy: 'scale-lab bench' } }) })
    if (!res.ok) throw new BenchError(`could not write ${KV_PATH} on port ${port}: ${res.status} ${await res.text()}`)
  }
  for (const replicated of [false, true]) {
    const redisPool = [...fleet.pools.entries()].find(([id]) => POOLS[id].store === 'redis' && (POOLS[id].replicated === true) === replicated)
    if (redisPool?.[1][0] !== undefined) await write(redisPool[1][0])
  }
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

/** The run's result as the report shows it, as text: what `scale-lab bench` prints at the end. */
export function benchText (result: BenchResult, dir: string): string {
  return toText(buildSections({ ...emptyRun(dir), bench: { file: 'bench.json', result } }))
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
    const host = {
      cpus: availableParallelism(),
      node: process.version,
      ...(needs.topologies.size > 0 ? { nginx: await nginxVersion() } : {}),
      ...(needs.redis || needs.replicated ? { redis: await redisVersion() } : {})
    }
    log(`scale-lab bench ${run}: ${cells.length} cells × ${repetitions} repetitions of ${duration} s, ${engine} at ${connections} connections, on ${host.cpus} cores`)
    const pools = [...needs.pools].map(([id, n]) => `${id}×${n}`).join(', ') || 'none'
    log(`starting: redis ${needs.redis ? 'yes' : 'no'}${needs.replicated ? ', a replicated redis (primary, replica, Sentinel)' : ''}, API instances ${pools}, nginx ×${needs.topologies.size}` +
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
        const cpu = (v: number | null) => (v === null ? '–' : formatNumber(v))
        log(`[${String(done).padStart(String(total).length)}/${total}] rep ${rep} ${cell.id.padEnd(28)} ${formatCount(s.rps).padStart(7)} req/s` +
          `  p50 ${formatDecimal(s.latencyMs.p50)} p99 ${formatDecimal(s.latencyMs.p99)} ms  errors ${s.errors.total}` +
          `  cpu s: loadgen ${cpu(m.cpu.loadgen)} nginx ${cpu(m.cpu.nginx)} api ${cpu(m.cpu.api)} redis ${cpu(m.cpu.redis)} softirq ${cpu(m.softirq)} others ${cpu(m.others)}`)
      }
    }
    const { cells: benchCells, baselines } = summariseCells(cells, runs)

    let open: OpenModelRuns | null = null
    if (wantOpenModel) {
      const rate = Math.max(1, Math.round(benchCells.find((c) => c.id === STACK_CELL)!.median.rps / 2))
      open = await runOpenModelRuns({ engine, fleet, stackCell, cells, rate, cpus: host.cpus, seconds: openSeconds, repetitions, signal: aborter.signal, log })
    }

    const endedAt = new Date()
    const openModel = open?.openModel ?? null
    const result: BenchResult = {
      kind: 'bench',
      meta: { run, startedAt: started.toISOString(), endedAt: endedAt.toISOString(), host },
      engine,
      repetitions,
      durationSeconds: duration,
      connections,
      stack: { cell: STACK_CELL, description: STACK_DESCRIPTION },
      baselines,
      cells: benchCells,
      openModel,
      openModelOthers: open?.others ?? [],
      ...(open?.cost != null ? { openModelCost: open.cost } : {}),
      hotPath: hotPathEffects(benchCells, cells),
      targets: computeTargets(benchCells, openModel, host.cpus, open?.cost ?? null),
      notes: benchNotes({ engine, warmupSeconds: warmup, generatorUsPerRequest: open?.generatorUsPerRequest ?? null, elapsedSeconds: (endedAt.getTime() - started.getTime()) / 1000 })
    }
    mkdirSync(outDir, { recursive: true })
    const written = writeResult(outDir, 'bench.json', result)
    log('')
    log(benchText(result, outDir))
    log(`\nwritten: ${written} (${((performance.now() - clock) / 1000).toFixed(0)} s in all); charts and the HTML page: npx scale-lab report ${outDir}`)

    const failing = benchCells.flatMap((c) => c.runs.filter((r) => errorRate(r) > 0.01).map((r) => `${r.label}: ${r.errors.total} errors of ${r.requests} (${JSON.stringify(r.errors.byKind)})`))
    for (const r of [openModel, ...result.openModelOthers]) if (r !== null && errorRate(r) > 0.01) failing.push(`${r.label}: ${r.errors.total} errors (${JSON.stringify(r.errors.byKind)})`)
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
