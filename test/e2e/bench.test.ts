import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { Fleet, type StartedProcess } from '../../src/lab/bench/fleet.js'
import { runBench } from '../../src/lab/bench/run.js'
import { OPEN_MODEL_COST_LABEL } from '../../src/lab/bench/targets.js'
import { DURABLE_INCR_CELL, needsOf, NO_METRICS_CELL, NO_RATE_LIMIT_CELL, REPLICATED_INCR_CELL, selectCells, STACK_CELL, TRIVIAL_STACK_CELL } from '../../src/lab/bench/matrix.js'
import { parentMap, withDescendants } from '../../src/lab/bench/proc-cpu.js'
import { readProcStat } from '../../src/lab/system/proc.js'
import { findBinary } from '../../src/lab/system/binaries.js'
import { busyPorts } from '../../src/lab/system/ports.js'
import { isAlive } from '../../src/lab/system/process.js'
import { askNode } from '../../src/lab/system/redis-topology-status.js'
import { BenchResultSchema, problemsOf } from '../../src/lab/results.js'

// A tiny real bench: real Redis, real instances, real nginx, real load. Speed is
// never asserted here (targets live in the bench's output); shapes and cleanup are.

async function gone (t: Test, processes: StartedProcess[]): Promise<void> {
  const pids = processes.flatMap((p) => [p.pid, ...p.children])
  t.ok(pids.length >= processes.length, `${pids.length} PIDs recorded`)
  t.strictSame(pids.filter(isAlive), [], 'every process the bench started is gone')
  t.strictSame(await busyPorts(processes.map((p) => p.port)), [], 'and its ports are free')
}

t.test('wrk engine: bench.json in the BenchResult shape, CPU per group, open model, nothing left running', { skip: findBinary('wrk') === null ? 'wrk not installed' : false }, async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'sl-bench-e2e-'))
  t.teardown(() => rmSync(out, { recursive: true, force: true }))
  let started: StartedProcess[] = []
  let metricsStatus: Promise<number[]> = Promise.resolve([])
  const lines: string[] = []
  const result = await runBench({
    engine: 'wrk',
    cells: ['nginx-only', 'direct-1-trivial', TRIVIAL_STACK_CELL, STACK_CELL, NO_METRICS_CELL, NO_RATE_LIMIT_CELL],
    repetitions: 2,
    durationSeconds: 1,
    warmupSeconds: 0,
    openModelSeconds: 1,
    out,
    log: (line) => lines.push(line),
    onStarted: (processes) => {
      started = processes
      // Asked while the fleet is up: a variant's instances run with its settings.
      const metricsOf = async (name: string) => (await fetch(`http://127.0.0.1:${processes.find((p) => p.name === name)!.port}/metrics`)).status
      metricsStatus = Promise.all([metricsOf('api redis-1'), metricsOf('api no-metrics-1')])
    }
  })

  t.strictSame(await metricsStatus, [200, 404], 'GET /metrics on the stack\'s instance, and none with METRICS=0')
  t.strictSame(Object.keys(result).sort(), ['baselines', 'cells', 'connections', 'durationSeconds', 'engine', 'hotPath', 'kind', 'meta', 'notes', 'openModel', 'openModelCost', 'openModelOthers', 'repetitions', 'stack', 'targets'])
  t.strictSame(problemsOf(BenchResultSchema, result), [], 'bench.json fits the contract the report reads')
  t.match(result, { kind: 'bench', engine: 'wrk', repetitions: 2, durationSeconds: 1, connections: 100, stack: { cell: STACK_CELL }, baselines: { direct: 'direct-1-trivial', ceiling: 'nginx-only' } })
  t.match(result.meta, { run: String, startedAt: String, endedAt: String, host: { cpus: Number, node: process.version, nginx: /^\d+\.\d+/, redis: /^\d+\.\d+/ } })
  t.ok(result.meta.endedAt! > result.meta.startedAt, 'the run\'s time range')
  t.strictSame(result.cells.map((c) => c.id), ['nginx-only', 'direct-1-trivial', TRIVIAL_STACK_CELL, STACK_CELL, NO_METRICS_CELL, NO_RATE_LIMIT_CELL])
  for (const cell of result.cells) {
    t.strictSame(Object.keys(cell).sort(), ['cpuSeconds', 'cpuUsPerRequest', 'group', 'id', 'instances', 'label', 'machine', 'median', 'ratios', 'route', 'runs', 'via', ...(cell.keepalive !== undefined ? ['keepalive'] : []), ...(cell.store !== undefined ? ['store'] : [])].sort())
    t.equal(cell.runs.length, 2, `${cell.id}: one run per repetition`)
    t.ok(cell.median.rps > 0, `${cell.id}: ${cell.median.rps} req/s`)
    t.ok(cell.runs.every((r) => r.engine === 'wrk' && r.requests > 0))
    t.strictSame(Object.keys(cell.cpuSeconds).sort(), ['api', 'loadgen', 'nginx', 'redis'])
    t.ok(cell.cpuSeconds.loadgen > 0, `${cell.id}: the load generator's CPU is counted`)
    t.ok(cell.cpuUsPerRequest.server !== null && cell.cpuUsPerRequest.server > 0, `${cell.id}: ${cell.cpuUsPerRequest.server} µs of server CPU a request`)
  }
  const [ceiling, direct, trivial, stack] = result.cells
  // Each group's CPU is charged to the cell that group served. Per request, so the bound
  // holds however busy the machine is: the idle groups still tick now and then (timers,
  // GC), a tick or two a run, next to nothing per request; serving costs tens of µs each.
  const us = (cell: typeof ceiling, group: 'nginx' | 'api') => cell!.cpuUsPerRequest[group] ?? Number.NaN
  t.ok(us(ceiling, 'nginx') > 0, 'nginx alone: nginx CPU')
  t.ok(us(ceiling, 'api') < us(direct, 'api') / 10, `nginx alone: next to no API CPU (${us(ceiling, 'api')} µs a request; ${us(direct, 'api')} µs when the API serves)`)
  t.ok(us(direct, 'api') > 0, 'direct: API CPU')
  t.ok(us(direct, 'nginx') < us(ceiling, 'nginx') / 10, `direct: next to no nginx CPU (${us(direct, 'nginx')} µs a request; ${us(ceiling, 'nginx')} µs when nginx serves)`)
  t.ok(stack!.cpuSeconds.nginx > 0 && stack!.cpuSeconds.api > 0 && stack!.cpuSeconds.redis > 0, 'the stack: nginx, API and Redis CPU')
  t.strictSame(stack!.ratios.vsDirect, Number((stack!.median.rps / direct!.median.rps).toPrecision(4)), 'ratios against the baselines, stored')

  t.match(result.openModel, { engine: 'wrk', targetRps: Number }, 'paced with wrk when wrk is the engine')
  t.ok(result.openModel!.requests > 0)
  t.equal(result.openModel!.targetRps, Math.round(stack!.median.rps / 2), 'at half the stack\'s median')
  t.strictSame(result.openModelOthers.length, 1, 'the stack\'s other repetition')
  // Measured like a cell: the busy share is of the whole machine (> 0 whatever else runs, ≤ 1 by definition, with a tick's rounding).
  const openCost = result.openModelCost!
  t.ok(openCost.cpuUsPerRequest.server !== null && openCost.cpuUsPerRequest.server > 0, `the open model's server CPU: ${openCost.cpuUsPerRequest.server} µs a request`)
  t.ok(openCost.cpuUsPerRequest.api! > 0 && openCost.cpuUsPerRequest.nginx! > 0, 'split by group: nginx and the API served it')
  t.ok(openCost.busyShare !== null && openCost.busyShare > 0 && openCost.busyShare <= 1.05, `the cores busy meanwhile: ${openCost.busyShare}`)
  t.strictSame(result.targets.find((x) => x.id === 'open-model-p99')!.cost.map((c) => c.cell), [OPEN_MODEL_COST_LABEL, STACK_CELL], 'its cost beside the target, then the closed loop\'s')
  t.ok(lines.some((l) => /^open model #1 nginx-4-kv-redis .* server cpu [\d,]+ µs\/req {2}cores busy \d+%$/.test(l)), 'each open-model run\'s cost, printed as it ends')
  t.equal(result.targets.length, 7)
  t.match(result.targets.find((x) => x.id === 'durable-incr-cost'), { value: null, met: null }, 'durable mode\'s price: not in this run, so not measured')
  for (const [id, variant] of [['metrics-cost', NO_METRICS_CELL], ['rate-limit-cost', NO_RATE_LIMIT_CELL]] as const) {
    const cost = result.targets.find((x) => x.id === id)!
    const measured = result.cells.find((c) => c.id === variant)!
    t.equal(cost.value, Math.round(stack!.median.rps / measured.median.rps * 100) / 100, `${id}: the stack ÷ ${variant}, same run`)
    t.type(cost.met, 'boolean', `${id}: judged (${cost.value} against ${cost.goal})`)
    t.strictSame(cost.cost.map((c) => c.cell), [STACK_CELL, variant])
  }
  t.strictSame(result.hotPath.map((e) => e.cell), [NO_METRICS_CELL, NO_RATE_LIMIT_CELL], 'both variants in the hot-path table')
  for (const target of result.targets) t.strictSame(Object.keys(target).sort(), ['cost', 'formula', 'goal', 'id', 'met', 'name', 'value'])
  t.equal(result.targets[0]!.value, Math.round(stack!.median.rps / trivial!.median.rps * 100) / 100, 'the store\'s cost through the stack')
  t.strictSame(result.targets[0]!.cost.map((c) => c.cell), [STACK_CELL, TRIVIAL_STACK_CELL])
  t.equal(result.targets[1]!.met, null, 'no Express cell: not judged')
  t.ok(result.notes.length > 0)

  t.strictSame(JSON.parse(readFileSync(join(out, 'bench.json'), 'utf8')), result, 'bench.json holds what runBench returned')
  t.notOk(existsSync(join(out, 'bench.md')), 'no second renderer: the report renders bench.json')
  const printed = lines.join('\n')
  t.match(printed, /^configuration +req\/s +p50 ms/m, 'prints the report\'s cells table')
  t.match(printed, /^target +formula +value +goal +met/m, 'and its targets')
  t.ok(lines.some((l) => /\[\s*\d+\/12\] rep 2 /.test(l)), 'progress lines per run')

  t.ok(started.some((p) => p.group === 'nginx' && p.children.length > 0), 'nginx workers were recorded')
  await gone(t, started)
})

t.test('durable mode\'s price: POST incr on a replicated store with and without REDIS_DURABLE=1, the ratio reported, nothing left running', { skip: findBinary('wrk') === null ? 'wrk not installed' : false }, async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'sl-bench-e2e-'))
  t.teardown(() => rmSync(out, { recursive: true, force: true }))
  let started: StartedProcess[] = []
  // The WAITs the primary served, read while the fleet is up (it is gone once runBench returns).
  let waits = 0
  let polling: NodeJS.Timeout | undefined
  t.teardown(() => clearInterval(polling))
  const result = await runBench({
    engine: 'wrk',
    cells: [REPLICATED_INCR_CELL, DURABLE_INCR_CELL],
    repetitions: 1,
    durationSeconds: 2,
    warmupSeconds: 0,
    out,
    log: () => {},
    onStarted: (processes) => {
      started = processes
      const primary = processes.find((p) => p.name === 'redis-1')!
      polling = setInterval(() => {
        askNode(primary.port, (c) => c.info('commandstats'), 300).then((info) => {
          waits = Math.max(waits, Number(/cmdstat_wait:calls=(\d+)/.exec(info ?? '')?.[1] ?? 0))
        }, () => {})
      }, 200)
    }
  })
  clearInterval(polling)

  t.strictSame(problemsOf(BenchResultSchema, result), [], 'bench.json fits the contract the report reads')
  t.strictSame(result.cells.map((c) => c.id), [REPLICATED_INCR_CELL, DURABLE_INCR_CELL])
  for (const cell of result.cells) {
    t.ok(cell.median.rps > 0, `${cell.id}: ${cell.median.rps} req/s`)
    t.ok(cell.cpuSeconds.redis > 0, `${cell.id}: the replicated store's CPU counted as Redis`)
  }
  const [replicated, durable] = result.cells
  t.ok(waits > 0, `durable mode sent WAIT to the primary (${waits} calls seen)`)
  // Every durable write WAITs once (the preflight's and the requests still in flight at the end too); the other pool never does.
  t.ok(waits <= durable!.runs[0]!.requests + result.connections + 10, `only durable mode WAITs: ${waits} calls for ${durable!.runs[0]!.requests} durable and ${replicated!.runs[0]!.requests} other writes`)
  const price = result.targets.find((x) => x.id === 'durable-incr-cost')!
  t.equal(price.value, Math.round(durable!.median.rps / replicated!.median.rps * 100) / 100, `durable ÷ not, same run: ${price.value}`)
  t.equal(price.met, null, 'reported, not judged')
  t.strictSame(price.cost.map((c) => c.cell), [DURABLE_INCR_CELL, REPLICATED_INCR_CELL])
  t.equal(result.openModel, null, 'no stack GET /kv cell, no open model')

  const names = started.map((p) => p.name)
  t.strictSame(['redis-1', 'redis-2', 'sentinel-1'].filter((n) => names.includes(n)), ['redis-1', 'redis-2', 'sentinel-1'], 'a primary, one replica, one Sentinel')
  t.notOk(names.includes('redis'), 'and not the bench\'s single Redis: no cell uses it')
  t.ok(started.filter((p) => /^(redis|sentinel)-/.test(p.name)).every((p) => p.group === 'redis'), 'the Sentinel counted with Redis')
  await gone(t, started)
})

t.test('autocannon engine: the seed baselines, nothing left running', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'sl-bench-e2e-'))
  t.teardown(() => rmSync(out, { recursive: true, force: true }))
  let started: StartedProcess[] = []
  const result = await runBench({
    engine: 'autocannon',
    cells: ['express-1-trivial', 'cluster-4-trivial'],
    repetitions: 1,
    durationSeconds: 1,
    warmupSeconds: 0,
    out,
    log: () => {},
    onStarted: (processes) => { started = processes }
  })
  t.equal(result.engine, 'autocannon')
  t.equal(result.openModel, null, 'no stack cell, no open model')
  t.strictSame(result.cells.map((c) => [c.id, c.via, c.runs[0]!.engine]), [['express-1-trivial', 'express', 'autocannon'], ['cluster-4-trivial', 'cluster', 'autocannon']])
  for (const cell of result.cells) {
    t.ok(cell.median.rps > 0, `${cell.id}: ${cell.median.rps} req/s`)
    t.ok(cell.cpuSeconds.loadgen > 0 && cell.cpuSeconds.api > 0, `${cell.id}: load generator (this process) and API CPU`)
  }
  t.equal(result.meta.host.redis, undefined, 'the seed needs no Redis, so none was started')
  t.equal(started.find((p) => p.name === 'seed cluster')?.children.length, 4, 'the cluster primary had 4 workers')
  t.ok(existsSync(join(out, 'bench.json')))
  await gone(t, started)
})

/** This process's live children (zombies excluded: dead, only not yet reaped). */
/**
 * This process's live descendants, but for the esbuild service that tap's TypeScript
 * loader starts at its first transform and keeps (scripts/ts-node-esbuild.cjs): the
 * tests' own, not the bench's.
 */
function liveChildren (): number[] {
  return withDescendants([process.pid], parentMap()).filter((pid) => pid !== process.pid && isAlive(pid) && readProcStat(pid)?.comm !== 'esbuild')
}

t.test('an interrupt while the fleet starts leaves nothing running, whenever it lands', async (t) => {
  const cells = selectCells([STACK_CELL], false)
  const needs = needsOf(cells)
  t.strictSame(liveChildren(), [], 'no children before')
  // 0 ms: before Redis is even spawned; 300 ms: while instances boot (PIDs known or not yet).
  for (const delayMs of [0, 300]) {
    const dir = mkdtempSync(join(tmpdir(), 'sl-fleet-e2e-'))
    t.teardown(() => rmSync(dir, { recursive: true, force: true }))
    const fleet = new Fleet(dir)
    const starting = fleet.start(needs).then(() => 'started', (err: Error) => err.message)
    if (delayMs > 0) await sleep(delayMs)
    const left = await fleet.stop()
    // What the interrupt handler sees the moment stop() resolves: the process exits next.
    t.strictSame(left, [], `stop() after ${delayMs} ms: nothing it knows of is alive`)
    t.strictSame(liveChildren(), [], `stop() after ${delayMs} ms: no child of this process is left running`)
    if (delayMs === 0) t.equal(await starting, 'stopped while starting', 'start() gave up instead of finishing the fleet')
    // Later, start() may have finished first on a fast machine: then stop() stopped it all.
    else t.match(await starting, /^(stopped while starting|started)$/, `start() ended: ${await starting}`)
    t.strictSame(await busyPorts(fleet.allPorts()), [], 'no port left listening')
  }
})

t.test('the unix-socket and one-worker variants: nginx reaches the instance on its socket, with one worker', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sl-fleet-e2e-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const fleet = new Fleet(dir)
  t.teardown(() => fleet.stop())
  const topology = { pool: 'unix-socket', instances: 1, keepalive: true, accessLog: false, workerProcesses: 1 } as const
  await fleet.start({ pools: new Map([['unix-socket', 1]]), topologies: new Map([['sock', topology]]), express: false, clusterWorkers: 0, redis: true, replicated: false })
  const socket = fleet.sockets.get('unix-socket')![0]!
  const conf = readFileSync(join(dir, 'nginx-sock', 'conf', 'scale-lab.conf'), 'utf8')
  t.match(conf, `server unix:${socket} max_fails=1`, 'the upstream is the socket, not the port')
  t.notMatch(conf, /server 127\.0\.0\.1:/)
  t.match(readFileSync(join(dir, 'nginx-sock', 'conf', 'nginx.conf'), 'utf8'), /^worker_processes 1;$/m)
  const res = await fetch(`http://127.0.0.1:${fleet.nginxPorts.get('sock')}/`)
  t.equal(res.status, 200, 'answered through nginx over the socket')
  t.equal(res.headers.get('x-instance'), 'unix-socket-1')
  const nginx = fleet.processes.find((p) => p.group === 'nginx')!
  t.equal(withDescendants([nginx.pid], parentMap()).length, 2, 'the master and one worker')
  t.strictSame(await fleet.stop(), [], 'nothing left running')
})
