import { createServer } from 'node:http'
import t from 'tap'
import type { BenchCell, BenchResult, LoadSummary } from '../src/lab/results.js'
import { allCells, needsOf, selectCells, topologyId, CellSelectionError, STACK_CELL } from '../src/lab/bench/matrix.js'
import { markdownTable, renderBenchMarkdown } from '../src/lab/bench/markdown.js'
import { cpuSecondsBetween, parseMachineTicks, parseProcStat, withDescendants } from '../src/lab/bench/proc-cpu.js'
import { runName } from '../src/lab/run.js'
import { median, percentile, ratio, shuffled } from '../src/lab/stats.js'
import { computeTargets, errorRate, hotPathEffects, medianCpu, medianOf, ratioRows } from '../src/lab/bench/targets.js'
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
    ...extra
  }
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
  t.strictSame(quick, ['express-1-trivial', 'nginx-only', 'direct-1-trivial', STACK_CELL, 'nginx-1-work', 'nginx-2-work'])
  t.strictSame(selectCells(['nginx-only', 'direct-1-trivial'], false).map((c) => c.id), ['nginx-only', 'direct-1-trivial'], 'in table order')
  t.strictSame(selectCells(['cpu'], false).map((c) => c.id), ['nginx-1-work', 'nginx-2-work', 'nginx-4-work'])
  t.equal(selectCells(['hot-path'], false).length, 5)
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
  t.equal(topologyId({ pool: 'redis', instances: 4, keepalive: false, accessLog: true }), 'redis-4-no-keepalive-access-log')
})

t.test('targets: the four ratios of the issue, judged only when measured', async (t) => {
  const cells = [
    cell('express-1-trivial', 4000, { group: 'baseline', via: 'express' }),
    cell('direct-1-trivial', 16000),
    cell('nginx-only', 70000, { group: 'ceiling', via: 'nginx-only', instances: null }),
    cell(STACK_CELL, 12800, { group: 'store', via: 'nginx', instances: 4 }),
    cell('nginx-1-work', 180, { group: 'cpu', via: 'nginx' }),
    cell('nginx-2-work', 340, { group: 'cpu', via: 'nginx', instances: 2 })
  ]
  const open = { ...summary(6400, 8.5), engine: 'open-model' as const, targetRps: 6400 }
  const targets = computeTargets(cells, open, 2)
  t.strictSame(targets.map((x) => [x.value, x.met]), [[3.2, true], [0.8, true], [1.89, true], [8.5, true]])
  t.match(targets[0], { formula: `${STACK_CELL} req/s ÷ express-1-trivial req/s`, goal: '≥ 3' })

  const missed = computeTargets([cells[0]!, cell(STACK_CELL, 8000), cell('direct-1-trivial', 16000)], null, 2)
  t.strictSame(missed.map((x) => [x.value, x.met]), [[2, false], [0.5, false], [null, null], [null, null]])

  const oneCore = computeTargets(cells, open, 1)
  t.equal(oneCore[2]!.met, null, 'the CPU-bound target needs 2 cores to be judged')
  t.match(oneCore[2]!.goal, /not judged/)
})

t.test('ratio rows compare every cell with 1 instance direct and with the ceiling', async (t) => {
  const rows = ratioRows([cell('nginx-only', 60000), cell('direct-1-trivial', 15000), cell('x', 7500)])
  t.strictSame(rows.map((r) => [r.cell.id, r.vsDirect, r.vsCeiling]), [['nginx-only', 4, 1], ['direct-1-trivial', 1, 0.25], ['x', 0.5, 0.125]])
  t.strictSame(ratioRows([cell('x', 1)]).map((r) => [r.vsDirect, r.vsCeiling]), [[null, null]])
})

t.test("hot-path effects: the stack's req/s over each variant's", async (t) => {
  const effects = hotPathEffects([cell(STACK_CELL, 10000), cell('hot-kv-log-info', 5000), cell('direct-1-trivial', 1)])
  t.equal(effects.length, 1)
  t.match(effects[0], { choice: 'per-request logging', gain: 2, stackP99: 10, variantP99: 10 })
})

t.test('error rate counts socket errors as attempts too', async (t) => {
  t.equal(errorRate(summary(100, 10, 5)), 5 / 500)
  const socket = { ...summary(100), errors: { total: 100, byKind: { 'socket:connect': 100 } } }
  t.equal(errorRate(socket), 100 / 600)
  t.equal(errorRate({ ...summary(0), requests: 0 }), 1, 'no request at all is a failed run')
})

t.test('bench.md has the ratio, hot-path, open-model and targets tables', async (t) => {
  const cells = [cell('direct-1-trivial', 16000), cell(STACK_CELL, 12000), cell('hot-kv-no-schemas', 11000), cell('nginx-only', 64000)]
  const result: BenchResult = {
    kind: 'bench',
    meta: { run: 'r', startedAt: '2026-11-28T00:00:00.000Z', host: { cpus: 2, node: 'v20', nginx: '1.22.1', redis: '7.0.15' } },
    engine: 'wrk',
    repetitions: 1,
    durationSeconds: 5,
    connections: 100,
    cells,
    openModel: { ...summary(6000, 9), engine: 'open-model', targetRps: 6000 },
    targets: computeTargets(cells, null, 2)
  }
  const cost = new Map([[STACK_CELL, 80], ['hot-kv-no-schemas', 95]])
  const fewer = { ...summary(6000, 4), label: 'nginx → 2 at the same rate', engine: 'open-model' as const, targetRps: 6000 }
  const md = renderBenchMarkdown(result, { notes: ['a note'], machine: [{ id: 'x', softirq: 0.5, others: 1, othersMax: 2 }], cost, openModelOthers: [fewer] })
  t.match(md, /^# Bench r$/m)
  t.match(md, /\| direct-1-trivial \| direct-1-trivial \| 16,000 \| 1× \| 0\.25× \|/)
  t.match(md, /\| response schemas \| .* \| 12,000 \| 11,000 \| 1\.09× \| 10 \/ 10 \| 80 \/ 95 \|/)
  t.match(md, /\| nginx-4-kv-redis \| nginx-4-kv-redis \| 12,000 \| 0\.75× \| 0\.19× \| .* \| 80 \| – \|$/m, 'server CPU µs per request, then the spread')
  t.match(md, /\| run at 6000 \| 6,000 \| 6,000 \|/)
  t.match(md, /\| nginx → 2 at the same rate \| 6,000 \| 6,000 \| 30,000 \| 1 \| 2 \| 4 \|/)
  t.match(md, /\| stack GET \/kv ÷ 1 instance direct \(GET \/\) \| .* \| 0\.75 \| ≥ 0\.75 \| MET \|/)
  t.match(md, /\| stack GET \/kv ÷ the seed's peer \| .* \| – \| ≥ 3 \| not judged \|/)
  t.match(md, /- a note/)
  t.match(md, /\| x \| 0\.5 \| 1 \| 2 \|/)
  t.equal(markdownTable(['a|b'], [['c']]), '| a\\|b |\n| --- |\n| c |')
})

t.test('run folders are named after the start time, without colons', async (t) => {
  t.equal(runName(new Date('2026-11-28T01:20:00.123Z')), '2026-11-28T01-20-00Z')
})

t.test('hot-path variants really undo their choice in the bundled server', async (t) => {
  const { prepareVariant } = await import('../src/lab/bench/fleet.js')
  const { mkdtempSync, readFileSync, rmSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const { join } = await import('node:path')
  const root = mkdtempSync(join(tmpdir(), 'sl-variant-'))
  t.teardown(() => rmSync(root, { recursive: true, force: true }))
  const noPipelining = readFileSync(prepareVariant(root, 'no-pipelining'), 'utf8')
  t.match(noPipelining, /enableAutoPipelining: false/)
  t.notMatch(noPipelining, /enableAutoPipelining: true/)
  const noSchemas = readFileSync(prepareVariant(root, 'no-schemas'), 'utf8')
  t.match(noSchemas, /app\.addHook\("onRoute"/)
})
