import { createServer } from 'node:http'
import t from 'tap'
import { BenchResultSchema, problemsOf, type BenchCell, type LoadSummary } from '../src/lab/results.js'
import { costOf, hotPathEffects, medianCpu, medianOf, summariseCells } from '../src/lab/bench/cells.js'
import { allCells, needsOf, selectCells, topologyId, CellSelectionError, DURABLE_INCR_CELL, NO_METRICS_CELL, NO_RATE_LIMIT_CELL, REPLICATED_INCR_CELL, STACK_CELL, TRIVIAL_STACK_CELL } from '../src/lab/bench/matrix.js'
import type { Measured } from '../src/lab/bench/measure.js'
import { cpuSecondsBetween, parseMachineTicks, parseProcStat, runnableThreads, withDescendants } from '../src/lab/bench/proc-cpu.js'
import { benchText } from '../src/lab/bench/run.js'
import { textTable } from '../src/lab/report/text-table.js'
import { printVerdict, runName } from '../src/lab/run.js'
import { median, percentile, ratio, shuffled } from '../src/lab/stats.js'
import { computeTargets, errorRate, OPEN_MODEL_COST_LABEL } from '../src/lab/bench/targets.js'
import { runOpenModel } from '../src/lab/load/open-model.js'
import { parseWrkReport, toLoadSummary, wrkScript, WRK_MARKER } from '../src/lab/load/wrk.js'

function summary (rps: number, p99 = 10, errors = 0): LoadSummary {
  return {
    label: `run at ${rps}`,
    engine: 'wrk',
    target: 'http://127.0.0.1:1/',
    connections: 100,
    durationSeconds: 5,
    requests: rps * 5,
    rps,
    latencyMs: { p50: p99 / 4, p90: p99 / 2, p99, max: p99 * 2, mean: p99 / 3 },
    errors: { total: errors, byKind: errors > 0 ? { 'non2xx:4xx-5xx': errors } : {} }
  }
}

function cell (id: string, rps: number, extra: Partial<BenchCell> = {}): BenchCell {
  const runs = [summary(rps)]
  return {
    id,
    label: id,
    group: 'direct',
    via: 'direct',
    instances: 1,
    route: 'GET /',
    runs,
    median: medianOf(runs),
    cpuSeconds: { loadgen: 1, nginx: 0, api: 1, redis: 0 },
    cpuUsPerRequest: { server: 1e6 / (rps * 5), nginx: 0, api: 1e6 / (rps * 5), redis: 0 },
    ratios: { vsDirect: null, vsCeiling: null, spread: null },
    machine: { softirq: null, others: null, othersWorst: null },
    ...extra
  }
}

/** One measured repetition of a cell, as measure() returns it. */
function measured (rps: number, cpu: Measured['cpu'], machine: { softirq: number | null, others: number | null } = { softirq: 0.5, others: 0.1 }): Measured {
  const busy = machine.softirq === null || machine.others === null ? null : cpu.loadgen + cpu.nginx + cpu.api + cpu.redis + machine.softirq + machine.others
  return { summary: summary(rps), cpu, ...machine, busy, seconds: 5 }
}

t.test('median: middle value, mean of the two middle ones, NaN when empty', async (t) => {
  t.equal(median([3, 1, 2]), 2)
  t.equal(median([4, 1, 3, 2]), 2.5)
  t.equal(median([7]), 7)
  t.ok(Number.isNaN(median([])))
  const values = [5, 1, 9]
  median(values)
  t.strictSame(values, [5, 1, 9], 'the input is not reordered')
})

t.test('ratio is null when either side is missing or the divisor is 0', async (t) => {
  t.equal(ratio(6, 3), 2)
  t.equal(ratio(null, 3), null)
  t.equal(ratio(3, 0), null)
  t.equal(ratio(3, undefined), null)
})

t.test('the interleaved order is a seeded shuffle: same seed, same order; every cell once', async (t) => {
  const ids = allCells().map((c) => c.id)
  t.strictSame(shuffled(ids, 1), shuffled(ids, 1))
  t.notSame(shuffled(ids, 1), shuffled(ids, 2))
  t.strictSame([...shuffled(ids, 3)].sort(), [...ids].sort())
})

t.test('medians of a cell are taken per field over the repetitions', async (t) => {
  const runs = [summary(100, 30), summary(300, 10, 2), summary(200, 20)]
  t.strictSame(medianOf(runs), { rps: 200, latencyMs: { p50: 5, p90: 10, p99: 20 }, errors: 0 })
  t.strictSame(medianCpu([
    { loadgen: 1, nginx: 2, api: 3, redis: 0.1 },
    { loadgen: 3, nginx: 1, api: 5, redis: 0.3 },
    { loadgen: 2, nginx: 3, api: 4, redis: 0.2 }
  ]), { loadgen: 2, nginx: 2, api: 4, redis: 0.2 })
})

t.test('/proc/<pid>/stat parsing counts fields from the last parenthesis', async (t) => {
  // A real line of an nginx worker, with a comm holding spaces and a ')'.
  const line = '20192 (nginx: worker) x) S 20190 20190 20190 0 -1 4194624 1421 0 0 0 180 95 7 3 20 0 1 0 226410 14352384 2022 18446744073709551615 1 1 0 0 0 0 0 1073745920 402745863 0 0 0 17 1 0 0 0 0 0'
  const stat = parseProcStat(line)
  t.strictSame(stat, { pid: 20192, comm: 'nginx: worker) x', state: 'S', ppid: 20190, utime: 180, stime: 95, cutime: 7, cstime: 3 })
  t.throws(() => parseProcStat('garbage'), /not a \/proc/)
  t.throws(() => parseProcStat('1 (x) S 0'), /field 14 missing/)
})

t.test('a group is its roots and every descendant', async (t) => {
  const parents = new Map([[10, 1], [11, 10], [12, 10], [13, 11], [20, 1], [21, 20]])
  t.strictSame(withDescendants([10], parents).sort((a, b) => a - b), [10, 11, 12, 13])
  t.strictSame(withDescendants([99], parents), [99], 'a PID with no children is its own group')
})

t.test('CPU seconds between snapshots count only PIDs present in both', async (t) => {
  const before = new Map([[1, 100], [2, 50]])
  const after = new Map([[1, 250], [2, 80], [3, 999]])
  t.equal(cpuSecondsBetween(before, after, 100), 1.8)
})

t.test('runnable threads: a process at work counts, a sleeping one does not', async (t) => {
  const { spawn } = await import('node:child_process')
  t.ok(runnableThreads([process.pid]) >= 1, 'this process, running while it reads /proc')
  const sleeper = spawn('sleep', ['10'], { stdio: 'ignore' })
  t.teardown(() => { sleeper.kill() })
  await new Promise((resolve) => setTimeout(resolve, 200))
  t.equal(runnableThreads([sleeper.pid!]), 0, 'a process waiting sleeps (S)')
  t.equal(runnableThreads([2 ** 22 + 1]), 0, 'a PID that is gone counts as idle')
})

t.test('/proc/stat: busy is everything but idle and iowait; softirq on its own', async (t) => {
  const text = 'cpu  284 0 190 26 3 1 96 1 0 0\ncpu0 142 0 95 13 1 0 48 0 0 0\n'
  t.strictSame(parseMachineTicks(text), { busy: 284 + 190 + 1 + 96 + 1, softirq: 96 })
  t.throws(() => parseMachineTicks('intr 1 2 3'), /no "cpu" line/)
})

// wrk 4.1's output for `wrk -t1 -c10 -d1s --latency -s <script>` against nginx with no
// instance behind it (every answer a 502), captured on this machine.
const WRK_SAMPLE = `Running 1s test @ http://127.0.0.1:36121/
  1 threads and 10 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   227.27us  229.66us   4.33ms   94.98%
    Req/Sec    45.44k     9.09k   55.46k    81.82%
  Latency Distribution
     50%  192.00us
     75%  275.00us
     90%  387.00us
     99%    1.09ms
  49620 requests in 1.10s, 13.44MB read
  Non-2xx or 3xx responses: 49620
Requests/sec:  45102.53
Transfer/sec:     12.22MB
SCALE_LAB_WRK {"requests":49620,"durationUs":1100160,"bytes":14091860,"errors":{"connect":0,"read":0,"write":0,"status":49620,"timeout":0},"latencyMs":{"p50":0.192,"p90":0.387,"p99":1.092,"max":4.330,"mean":0.227}}
`

t.test("wrk's done() line becomes a LoadSummary", async (t) => {
  const report = parseWrkReport(WRK_SAMPLE)
  t.equal(report.requests, 49620)
  const s = toLoadSummary(report, { label: 'sample', url: 'http://127.0.0.1:36121/', connections: 10 })
  t.equal(s.engine, 'wrk')
  t.equal(s.requests, 49620)
  t.equal(s.durationSeconds, 1.1)
  t.equal(s.rps, 45102.5)
  t.strictSame(s.latencyMs, { p50: 0.192, p90: 0.387, p99: 1.092, max: 4.33, mean: 0.227 })
  t.strictSame(s.errors, { total: 49620, byKind: { 'non2xx:4xx-5xx': 49620 } })
  const socket = toLoadSummary({ ...report, errors: { connect: 2, read: 3, write: 0, status: 0, timeout: 1 } }, { label: 'x', url: 'u', connections: 1 })
  t.strictSame(socket.errors, { total: 6, byKind: { 'socket:connect': 2, 'socket:read': 3, timeout: 1 } })
  t.throws(() => parseWrkReport('Running 1s test\nunable to connect to 127.0.0.1:1 Connection refused\n'), /wrk printed no summary: .*Connection refused/)
})

t.test('the wrk script sets method, body and headers, and prints JSON in done()', async (t) => {
  const get = wrkScript({})
  t.match(get, /^wrk\.method = "GET"$/m)
  t.notMatch(get, /wrk\.body/)
  t.match(get, new RegExp(`io\\.write\\(string\\.format\\('${WRK_MARKER}`))
  const post = wrkScript({ method: 'POST', body: '{"a":"]]"}', headers: { 'content-type': 'application/json' } })
  t.match(post, /^wrk\.method = "POST"$/m)
  t.match(post, /^wrk\.body = \[=\[\{"a":"\]\]"\}\]=\]$/m, 'a body holding ]] gets a longer bracket')
  t.match(post, /^wrk\.headers\[ \[\[content-type\]\] \] = \[\[application\/json\]\]$/m)
})

t.test('percentile is nearest-rank on sorted values', async (t) => {
  const sorted = Array.from({ length: 100 }, (_, i) => i + 1)
  t.equal(percentile(sorted, 50), 50)
  t.equal(percentile(sorted, 99), 99)
  t.equal(percentile(sorted, 100), 100)
  t.equal(percentile([], 99), 0)
  t.equal(percentile([7], 50), 7)
})

t.test('the open model sends rate × duration requests on schedule to a local server', async (t) => {
  const server = createServer((_req, res) => res.end('ok'))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const port = (server.address() as { port: number }).port
  const result = await runOpenModel({ label: 'open', url: `http://127.0.0.1:${port}/`, rate: 200, durationSeconds: 0.5 })
  t.equal(result.engine, 'open-model')
  t.equal(result.requests, 100)
  t.equal(result.targetRps, 200)
  t.equal(result.errors.total, 0)
  t.ok(result.durationSeconds >= 0.49, `took ${result.durationSeconds} s: the schedule, not as fast as possible`)
  t.ok(result.latencyMs.p50 > 0 && result.latencyMs.p50 <= result.latencyMs.p99)
  const warmed = await runOpenModel({ label: 'warm', url: `http://127.0.0.1:${port}/`, rate: 200, durationSeconds: 0.25, warmupSeconds: 0.25 })
  t.equal(warmed.requests, 50, 'the warm-up requests are sent but not recorded')
  t.equal(warmed.errors.total, 0)
  await t.rejects(async () => runOpenModel({ label: 'x', url: 'http://example.com/', rate: 1, durationSeconds: 1 }), /only targets 127\.0\.0\.1/)
})

t.test('cell selection: all, quick, ids and groups; unknown ids are an error naming the known ones', async (t) => {
  t.equal(selectCells(undefined, false).length, allCells().length)
  const quick = selectCells(undefined, true).map((c) => c.id)
  t.strictSame(quick, ['express-1-trivial', 'nginx-only', 'direct-1-trivial', TRIVIAL_STACK_CELL, STACK_CELL, 'nginx-1-work', 'nginx-2-work', NO_METRICS_CELL, NO_RATE_LIMIT_CELL],
    'every cell a target reads, and the two baselines of the ratio columns')
  t.strictSame(selectCells(['nginx-only', 'direct-1-trivial'], false).map((c) => c.id), ['nginx-only', 'direct-1-trivial'], 'in table order')
  t.strictSame(selectCells(['cpu'], false).map((c) => c.id), ['nginx-1-work', 'nginx-2-work', 'nginx-4-work'])
  t.equal(selectCells(['hot-path'], false).length, 10)
  t.throws(() => selectCells(['nope'], false), CellSelectionError)
  t.throws(() => selectCells(['nope'], false), /known: express-1-trivial/)
  t.match(selectCells(undefined, false, 20).find((c) => c.id === 'nginx-2-work')?.path, '/work?ms=20')
})

t.test('a subset of cells needs only the processes it uses', async (t) => {
  const needs = needsOf(selectCells(['nginx-only', 'direct-1-trivial', 'nginx-2-kv-redis', 'nginx-4-kv-memory'], false))
  t.strictSame([...needs.pools], [['redis', 2], ['memory', 4]])
  t.strictSame([...needs.topologies.keys()].sort(), ['ceiling', 'memory-4', 'redis-2'])
  t.equal(needs.redis, true)
  t.equal(needs.express, false)
  t.equal(needs.clusterWorkers, 0)
  const seeds = needsOf(selectCells(['baseline'], false))
  t.equal(seeds.express, true)
  t.equal(seeds.clusterWorkers, 4)
  t.equal(seeds.redis, false, 'the seed needs no Redis')
  t.equal(needs.replicated, false, 'nor a replicated one')
  const durable = needsOf(selectCells([REPLICATED_INCR_CELL, DURABLE_INCR_CELL], false))
  t.strictSame([...durable.pools], [['replicated', 4], ['durable', 4]])
  t.strictSame([durable.redis, durable.replicated], [false, true], 'the durable-mode cells need the replicated Redis only')
  t.strictSame([...durable.topologies.keys()], ['replicated-4', 'durable-4'])
  const both = needsOf(selectCells(['nginx-4-incr-redis', DURABLE_INCR_CELL], false))
  t.strictSame([both.redis, both.replicated], [true, true], 'a run with both kinds starts both')
  t.equal(topologyId({ pool: 'redis', instances: 4, keepalive: false, accessLog: true }), 'redis-4-no-keepalive-access-log')
  const variants = needsOf(selectCells([STACK_CELL, 'hot-kv-parse', 'hot-kv-nginx-1-worker', 'hot-kv-unix-socket'], false))
  t.strictSame([...variants.pools], [['redis', 4], ['parse-kv', 4], ['unix-socket', 4]], 'one worker is the same instances behind another nginx')
  t.strictSame([...variants.topologies.keys()], ['redis-4', 'parse-kv-4', 'redis-4-workers-1', 'unix-socket-4'])
})

t.test('targets: the design measured against itself in one run, judged only when measured', async (t) => {
  const cells = [
    cell('express-1-trivial', 4000, { group: 'baseline', via: 'express' }),
    cell(TRIVIAL_STACK_CELL, 15000, { group: 'balanced', via: 'nginx', instances: 4 }),
    cell(STACK_CELL, 12800, { group: 'store', via: 'nginx', instances: 4, cpuUsPerRequest: { server: 95, nginx: 25, api: 60, redis: 10 } }),
    cell('nginx-1-work', 180, { group: 'cpu', via: 'nginx' }),
    cell('nginx-2-work', 340, { group: 'cpu', via: 'nginx', instances: 2 }),
    cell(NO_METRICS_CELL, 13200, { group: 'hot-path', via: 'nginx', instances: 4 }),
    cell(NO_RATE_LIMIT_CELL, 12900, { group: 'hot-path', via: 'nginx', instances: 4 }),
    cell(REPLICATED_INCR_CELL, 8000, { group: 'store', via: 'nginx', instances: 4 }),
    cell(DURABLE_INCR_CELL, 4400, { group: 'store', via: 'nginx', instances: 4 })
  ]
  const open = { ...summary(6400, 8.5), engine: 'open-model' as const, targetRps: 6400 }
  const targets = computeTargets(cells, open, 2)
  t.strictSame(targets.map((x) => x.id), ['store-through-stack', 'stack-vs-seed', 'cpu-route-2-vs-1', 'open-model-p99', 'metrics-cost', 'rate-limit-cost', 'durable-incr-cost'])
  t.strictSame(targets.map((x) => [x.value, x.met]), [[0.85, true], [3.2, true], [1.89, true], [8.5, true], [0.97, true], [0.99, true], [0.55, null]])
  t.match(targets[6], { formula: new RegExp(`^${DURABLE_INCR_CELL} req/s ÷ ${REPLICATED_INCR_CELL} req/s`), goal: /not judged/ }, 'durable mode\'s price: reported, never judged')
  t.strictSame(targets[6]!.cost.map((c) => c.cell), [DURABLE_INCR_CELL, REPLICATED_INCR_CELL])
  t.match(targets[4], { formula: `${STACK_CELL} req/s ÷ ${NO_METRICS_CELL} req/s (METRICS=0; the same run)`, goal: '≥ 0.95' })
  t.strictSame(targets[5]!.cost.map((c) => c.cell), [STACK_CELL, NO_RATE_LIMIT_CELL], 'the cost per request with and without the limit')
  t.equal(computeTargets([cell(STACK_CELL, 9400), cell(NO_METRICS_CELL, 10000)], null, 2)[4]!.met, false, 'metrics costing 6% miss the target')
  t.match(targets[0], { formula: `${STACK_CELL} req/s ÷ ${TRIVIAL_STACK_CELL} req/s (the same stack, the same run)`, goal: '≥ 0.8' })
  t.match(targets[1], { formula: `${STACK_CELL} req/s ÷ express-1-trivial req/s`, goal: '≥ 2.5' })
  t.strictSame(targets[0]!.cost.map((c) => c.cell), [STACK_CELL, TRIVIAL_STACK_CELL], 'the cost per request of both sides, beside the ratio')
  t.strictSame(targets[0]!.cost[0]!.cpuUsPerRequest, { server: 95, nginx: 25, api: 60, redis: 10 })
  t.strictSame(targets[3]!.cost.map((c) => c.cell), [STACK_CELL], 'without the open model\'s own cost, the stack\'s cell alone')
  const openCost = { cpuUsPerRequest: { server: 190, nginx: 40, api: 140, redis: 10 }, busyShare: 0.93 }
  const withOpenCost = computeTargets(cells, open, 2, openCost)[3]!
  t.strictSame(withOpenCost.cost, [{ cell: OPEN_MODEL_COST_LABEL, cpuUsPerRequest: openCost.cpuUsPerRequest }, { cell: STACK_CELL, cpuUsPerRequest: { server: 95, nginx: 25, api: 60, redis: 10 } }],
    'what a request cost at the open model\'s rate, first, beside the closed loop\'s')
  t.strictSame(problemsOf(BenchResultSchema.properties.targets, targets), [], 'they fit the contract')

  const missed = computeTargets([cells[0]!, cell(STACK_CELL, 8000), cell(TRIVIAL_STACK_CELL, 16000)], null, 2)
  t.strictSame(missed.map((x) => [x.value, x.met]), [[0.5, false], [2, false], [null, null], [null, null], [null, null], [null, null], [null, null]])
  t.strictSame(missed[2]!.cost, [], 'no cost shown for cells not in the run')
  t.equal(computeTargets([cell(STACK_CELL, 7990), cell(TRIVIAL_STACK_CELL, 10000)], null, 2)[0]!.met, false, 'judged on the measured 0.799, not the rounded 0.8')

  const oneCore = computeTargets(cells, open, 1)
  t.equal(oneCore[2]!.met, null, 'the CPU-bound target needs 2 cores to be judged')
  t.match(oneCore[2]!.goal, /not judged/)
})

t.test('cells: medians, cost per request by group, ratios against the baselines found by id, the machine outside the groups', async (t) => {
  const specs = selectCells(['nginx-only', 'direct-1-trivial', STACK_CELL, 'hot-kv-log-info'], false)
  const runs = new Map<string, Measured[]>([
    ['nginx-only', [measured(60000, { loadgen: 4, nginx: 5, api: 0, redis: 0 })]],
    ['direct-1-trivial', [measured(15000, { loadgen: 2, nginx: 0, api: 5, redis: 0 }, { softirq: null, others: null })]],
    [STACK_CELL, [
      measured(10000, { loadgen: 1, nginx: 2, api: 5.5, redis: 0.5 }, { softirq: 0.4, others: 0.2 }),
      measured(12000, { loadgen: 1, nginx: 2.4, api: 6.6, redis: 0.6 }, { softirq: 0.6, others: 1.5 }),
      measured(11000, { loadgen: 1, nginx: 2.2, api: 6.05, redis: 0.55 }, { softirq: 0.5, others: 0.1 })
    ]],
    ['hot-kv-log-info', [measured(5000, { loadgen: 1, nginx: 1, api: 7, redis: 0.2 })]]
  ])
  const { cells, baselines } = summariseCells(specs, runs)
  t.strictSame(baselines, { direct: 'direct-1-trivial', ceiling: 'nginx-only' })
  t.strictSame(cells.map((c) => [c.id, c.ratios.vsDirect, c.ratios.vsCeiling]), [
    ['nginx-only', 4, 1], ['direct-1-trivial', 1, 0.25], [STACK_CELL, 0.7333, 0.1833], ['hot-kv-log-info', 0.3333, 0.08333]
  ])
  const stack = cells[2]!
  t.equal(stack.ratios.spread, 1.2, 'largest ÷ smallest req/s over the repetitions')
  t.equal(cells[0]!.ratios.spread, null, 'one repetition: no spread')
  // (2 + 5.5 + 0.5) / 50,000 requests, (2.4 + 6.6 + 0.6) / 60,000, (2.2 + 6.05 + 0.55) / 55,000: 160 µs each time.
  t.strictSame(stack.cpuUsPerRequest, { server: 160, nginx: 40, api: 110, redis: 10 })
  t.strictSame(stack.machine, { softirq: 0.5, others: 0.2, othersWorst: 1.5 })
  t.strictSame(cells[1]!.machine, { softirq: null, others: null, othersWorst: null }, 'no /proc/stat: not measured')
  t.strictSame(costOf([]), { server: null, nginx: null, api: null, redis: null })
  t.strictSame(costOf([{ ...measured(0, { loadgen: 0, nginx: 1, api: 1, redis: 0 }), summary: { ...summary(0), requests: 0 } }]).server, null, 'no response: no cost')

  const effects = hotPathEffects(cells, specs)
  t.equal(effects.length, 1)
  t.match(effects[0], { cell: 'hot-kv-log-info', choice: 'per-request logging', gain: 2.2, stackRps: 11000, variantRps: 5000, stackUsPerRequest: 160, variantUsPerRequest: 328 })

  const without = summariseCells(selectCells([STACK_CELL], false), new Map([[STACK_CELL, runs.get(STACK_CELL)!]]))
  t.strictSame(without.baselines, { direct: null, ceiling: null })
  t.strictSame(without.cells[0]!.ratios.vsDirect, null)
  t.strictSame(hotPathEffects([cell('hot-kv-log-info', 5000)], specs)[0]!.gain, null, 'no stack in the run: no gain')
})

t.test('error rate counts socket errors as attempts too', async (t) => {
  t.equal(errorRate(summary(100, 10, 5)), 5 / 500)
  const socket = { ...summary(100), errors: { total: 100, byKind: { 'socket:connect': 100 } } }
  t.equal(errorRate(socket), 100 / 600)
  t.equal(errorRate({ ...summary(0), requests: 0 }), 1, 'no request at all is a failed run')
})

t.test('the bench prints the report\'s bench sections as text: targets, cells, cost, hot path, open model, notes', async (t) => {
  const { bench } = await import('./fixtures/report-run.js')
  const text = benchText(bench(), '/tmp/run')
  for (const title of ['Summary', 'Throughput by configuration', 'Latency percentiles', 'Scaling curve']) t.match(text, `${title}\n${'='.repeat(title.length)}\n`)
  t.notMatch(text, '<svg', 'no chart')
  t.match(text, /^the stack's GET \/kv ÷ the seed's Express process +nginx-4-kv-redis req\/s ÷ express-1-trivial req\/s +1\.95 +≥ 2\.5 +no +nginx-4-kv-redis 194 \(60 \+ 102 \+ 32\); express-1-trivial 233 \(0 \+ 233 \+ 0\)$/m)
  t.match(text, /^configuration +req\/s +p50 ms/m, 'the cells table')
  t.match(text, /^nginx alone \(return 200\) +71,500 /m, 'figures right-aligned under their column')
  t.match(text, /^-- What a request costs, and where else the cores went$/m)
  t.match(text, /^per-request logging +LOG_LEVEL=warn/m, 'the hot-path table')
  t.match(text, /^open model, GET \/kv via nginx → 1 at the same rate #1 /m, 'every open-model run')
  t.match(text, /^Whole bench: 700 s\.$/m, 'the notes')
  t.match(text, /^Why: /m)
})

t.test('one console table: padded columns, figures right-aligned, no trailing spaces', async (t) => {
  t.equal(textTable(['step', 'seconds', 'headline'], [['load', '12', 'ok'], ['bench', '95.5', 'a longer headline']]), [
    'step   seconds  headline',
    'load        12  ok',
    'bench     95.5  a longer headline'
  ].join('\n'))
  t.equal(textTable(['a', 'b'], []), 'a  b', 'no rows: the header alone')
  t.equal(textTable(['port', 'ready'], [['-', 'yes'], ['3001', 'no']]), 'port  ready\n   -  yes\n3001  no', 'a dash reads as "none" in a column of figures')
  const long = 'x'.repeat(12)
  t.equal(textTable(['a', 'b'], [[long, '1'], ['y', '2']], { maxWidth: 5 }), `a      b\n${long}  1\ny      2`, 'a long cell sticks out instead of widening its column')

  const lines: string[] = []
  printVerdict('drill kill', { pass: false, checks: [{ name: 'client-visible errors', expected: '0', actual: '3', pass: false }, { name: 'p99', expected: 'reported', actual: '38 ms', pass: true, informational: true }] }, (l) => lines.push(l))
  t.strictSame(lines, [
    '',
    'drill kill: FAIL',
    '      check                  expected  measured',
    'FAIL  client-visible errors  0                3',
    'PASS  p99 (info)             reported     38 ms'
  ])
})

t.test('run folders are named after the start time, without colons', async (t) => {
  t.equal(runName(new Date('2026-11-28T01:20:00.123Z')), '2026-11-28T01-20-00Z')
})

t.test('hot-path variants really undo their choice in the bundled server', async (t) => {
  const { prepareVariant } = await import('../src/lab/bench/variant.js')
  const { mkdtempSync, readFileSync, rmSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const { join } = await import('node:path')
  const root = mkdtempSync(join(tmpdir(), 'sl-variant-'))
  t.teardown(() => rmSync(root, { recursive: true, force: true }))
  const noPipelining = readFileSync(prepareVariant(root, 'no-pipelining'), 'utf8')
  // The bundle has no whitespace (scripts/bundle-server.js): the patterns allow for it.
  t.match(noPipelining, /enableAutoPipelining: false/)
  t.notMatch(noPipelining, /enableAutoPipelining:\s*true/)
  const noSchemas = readFileSync(prepareVariant(root, 'no-schemas'), 'utf8')
  t.match(noSchemas, /app\.addHook\("onRoute"/)
  const parseKv = readFileSync(prepareVariant(root, 'parse-kv'), 'utf8')
  t.match(parseKv, /return \{ key, value: JSON\.parse\(stored\.valueJson\), version: stored\.version \};/)
  t.notMatch(parseKv, /send\(kvEntryJson\(key,\s*stored\)\)/)
})
