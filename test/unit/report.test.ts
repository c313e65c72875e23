import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Command, CommanderError } from 'commander'
import t, { type Test } from 'tap'
import { BenchResultSchema, CheckResultSchema, DrillResultSchema, LoadResultSchema, problemsOf, RateLimitResultSchema, type BenchResult, type DrillResult } from '../../src/lab/results.js'
import { newestRunDir, registerReportCommand } from '../../src/lab/report/command.js'
import { formatCount, formatMs, formatPercent, formatRatio, NOT_MEASURED } from '../../src/lab/report/format.js'
import { readK6Summary } from '../../src/lab/report/k6-summary.js'
import { prometheusBlocks } from '../../src/lab/report/sections/drill-prometheus.js'
import { NothingToReportError, renderReport } from '../../src/lab/report/render-report.js'
import { bench, FIXTURE_DIR, fixtureFiles, killDrill } from '../fixtures/report-run.js'

/** An empty temp folder, removed after the test. */
function tempDir (t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'scale-lab-report-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** A temp folder holding the given fixture files (all of them by default). */
function runDir (t: Test, files: string[] = Object.keys(fixtureFiles())): string {
  const dir = tempDir(t)
  for (const file of files) cpSync(join(FIXTURE_DIR, file), join(dir, file))
  return dir
}

function writeJson (dir: string, file: string, data: unknown): void {
  writeFileSync(join(dir, file), JSON.stringify(data))
}

const count = (text: string, pattern: RegExp): number => text.match(pattern)?.length ?? 0

/** The "why" lines every section ends with (first words of each line). */
const WHY: Record<string, [string, string]> = {
  summary: ['A verdict is a rule checked against numbers measured in this run', 'Targets are ratios of configurations measured side by side'],
  throughput: ['Behind nginx every request makes two extra hops', 'Per-request logging and opening a new upstream connection per request'],
  latency: ['once the service is saturated a request mostly waits its turn in a queue', 'The open-model run sends requests at a fixed rate below the maximum'],
  scaling: ['A CPU-bound route gets faster with more instances only up to the number of cores (2 here)', 'The trivial route is limited by nginx and the load generator'],
  drills: ['nginx retries those requests on another instance and the idempotency key makes a retried POST apply only once', 'When Redis stops, the service answers 503 at once'],
  'rate-limit': ['Counted by each instance alone, a limit is per instance', 'Counted in Redis, the budget is one for the cluster'],
  consistency: ['With STORE=memory each instance keeps its own private copy', 'With Redis all instances read and write the same store'],
  load: ['nginx hands each request to the instance with the fewest in flight', 'A share well below that means an instance was slow'],
  k6: ['k6 is the load tool you run yourself', 'Its percentiles are measured from the client']
}

/** What both the HTML and the Markdown report of the full fixture show, and what it is. */
const IN_BOTH: Array<[string | RegExp, string]> = [
  ['71,500', 'the nginx ceiling, formatted'],
  ['16,300', 'one instance direct'],
  ['4,300', 'Express'],
  ['1.95', 'a target value: the stack\'s GET /kv ÷ the seed\'s Express'],
  ['cost through the stack: GET /kv ÷ GET /', 'the store target'],
  ['nginx-4-kv-redis 194 (60 + 102 + 32); nginx-4-trivial 141 (56 + 85 + 0)', 'CPU per request beside the ratio, by group'],
  [NOT_MEASURED, 'a figure not measured'],
  ['0.69×', 'nginx → 4 vs 1 direct'],
  ['1,497', 'the memory check\'s missed reads'],
  [/drill kill: PASS/, 'a drill\'s verdict'],
  [/STORE=memory: FAIL/, 'the memory check\'s verdict'],
  ['1 of 7 verdicts failed.', 'the verdicts counted'],
  ['limit 100 per 1,000 ms; the client got 4× the limit with the instance store, 1× the limit with the shared store', 'the rate-limit lesson in the summary'],
  [/RATE_LIMIT_STORE=instance: admitted ÷ configured \(4 instances\)/, 'its verdict rows'],
  ['PASS (informational)', 'a row that does not decide the verdict'],
  ['4,200', 'the open model\'s target rate'],
  ['open model, GET /kv via nginx → 1 at the same rate #1', 'the other open-model runs'],
  ['a request of the stack cost 312 µs (nginx 71 + API 205 + Redis 36) of server CPU, against 194 µs (nginx 60 + API 102 + Redis 32) in its closed-loop cell', 'what the open model\'s rate cost, against the closed loop'],
  ['cores were 87.4 % busy, the load generator included', 'how near saturation the open model\'s rate was'],
  ['nginx-4-kv-redis, open model 312 (71 + 205 + 36); nginx-4-kv-redis 194 (60 + 102 + 32)', 'the open model\'s cost beside its target'],
  ['per-request logging', 'a hot-path choice'],
  ['1.5×', 'what it is worth'],
  ['What a request costs, and where else the cores went', 'the CPU cost\'s heading'],
  ['Whole bench: 700 s.', 'the bench\'s notes'],
  ['api-1 27.0 %', 'a load run\'s per-instance share'],
  ['8.9', 'k6 p(95)'],
  ['the load generator 210,672: +0.0%, within the 2% target', 'the kill drill\'s requests, as the instances counted them'],
  ['Counters back at zero (a restarted process): api-1 1×, api-2 2×', 'the kills, in the counters'],
  ['went down 14 times in 30 scrapes', 'the same counters through the balancer'],
  ['No Prometheus series: Prometheus did not run with the stack', 'a drill without Prometheus says so']
]

t.test('the fixture files are what the typed fixture module builds, and fit results.ts', async (t) => {
  const built = fixtureFiles()
  const onDisk = readdirSync(FIXTURE_DIR).filter((f) => f.endsWith('.json')).sort()
  t.strictSame(onDisk, Object.keys(built).sort(), 'no fixture file missing or extra')
  const problems: Record<string, (value: unknown) => string[]> = {
    bench: (v) => problemsOf(BenchResultSchema, v),
    drill: (v) => problemsOf(DrillResultSchema, v),
    check: (v) => problemsOf(CheckResultSchema, v),
    load: (v) => problemsOf(LoadResultSchema, v),
    'rate-limit': (v) => problemsOf(RateLimitResultSchema, v)
  }
  for (const [file, data] of Object.entries(built)) {
    const written: unknown = JSON.parse(readFileSync(join(FIXTURE_DIR, file), 'utf8'))
    // Through JSON, as the files were written: drops undefined, turns -0 into 0.
    t.strictSame(written, JSON.parse(JSON.stringify(data)), `${file} is current (regenerate: npx tsx test/fixtures/report-run.ts)`)
    const kind = (data as { kind?: string }).kind
    if (kind !== undefined) t.strictSame(problems[kind]?.(written), [], `${file} fits the ${kind} contract`)
  }
})

t.test('the runtime check names the field that drifted from the contract', async (t) => {
  const drill = killDrill() as unknown as Record<string, unknown>
  const load = drill.load as Record<string, unknown>
  delete load.rps
  drill.drill = 'Explode!'
  ;(drill.events as Array<Record<string, unknown>>)[0]!.t = '5'
  t.strictSame(problemsOf(DrillResultSchema, drill), [
    '/drill: expected a string matching ^[a-z0-9-]+$, got "Explode!"',
    '/load/rps: missing',
    '/events/0/t: expected number, got "5"'
  ])
  t.strictSame(problemsOf(BenchResultSchema, []), ['/: expected object, got an array'])
  t.strictSame(problemsOf(BenchResultSchema, { ...bench(), cells: null }), ['/cells: expected array, got null'])
  t.strictSame(problemsOf(LoadResultSchema, { kind: 'load', meta: { run: 'r', startedAt: '2026-11-28T01:20:00.000Z', host: { cpus: 2, node: 'v20', redis: 7 } }, runs: [] }),
    ['/meta/host/redis: expected string, got 7'])
  t.strictSame(problemsOf(LoadResultSchema, { kind: 'load', meta: { run: 'r', startedAt: 'yesterday', host: { cpus: 2, node: 'v20' } }, runs: [] }),
    ['/meta/startedAt: expected a date-time string, got "yesterday"'], 'times are ISO, for the range a report asks Prometheus about')
  t.strictSame(problemsOf(DrillResultSchema, { ...killDrill(), restarts: 3, options: { a: null } }), [
    '/options/a: expected string or number or boolean, got null',
    '/restarts: expected object, got 3'
  ])
  t.strictSame(problemsOf(DrillResultSchema, { ...killDrill(), verdict: { pass: 'yes', checks: [] } }), ['/verdict/pass: expected boolean, got "yes"'])
  const open = bench().openModel!
  t.strictSame(problemsOf(BenchResultSchema, { ...bench(), openModel: { ...open, latencyMs: { ...open.latencyMs, p99: 'fast' } } }),
    ['/openModel/latencyMs/p99: expected number, got "fast"'], 'a nullable object reports the field inside, not "or null"')
  t.strictSame(problemsOf(BenchResultSchema, { ...bench(), openModel: 5 }), ['/openModel: expected object or null, got 5'])
  t.strictSame(problemsOf(BenchResultSchema, { ...bench(), engine: 'k6' }), ['/engine: expected "wrk" or "autocannon", got "k6"'])
})

t.test('a new drill needs no contract change; fields added since stay optional', async (t) => {
  const hang: DrillResult = {
    ...killDrill(),
    drill: 'hang',
    events: [{ t: 3, type: 'freeze', target: 'api-2' }, { t: 9, type: 'thaw', target: 'api-2' }],
    faults: [{ target: 'api-2', frozenForSeconds: 6, detectedAfterMs: 1040, replaced: false, note: null }]
  }
  t.strictSame(problemsOf(DrillResultSchema, hang), [], 'any drill name and event type that is a slug')
  const older = killDrill() as Partial<DrillResult>
  delete older.faults
  t.strictSame(problemsOf(DrillResultSchema, older), [], 'a drill file without faults (written before they existed) still reads')
  t.strictSame(problemsOf(DrillResultSchema, { ...hang, faults: [{ target: { nested: true } }] }),
    ['/faults/0/target: expected string or number or boolean or null, got an object'])
  const timeline = killDrill().load.timeline!
  t.strictSame(problemsOf(DrillResultSchema, { ...hang, load: { ...hang.load, timeline: [{ ...timeline[0]!, latencyMs: { p50: 1, p99: 2, max: 3 } }] } }), [])
})

t.test('numbers are formatted for people', async (t) => {
  t.equal(formatCount(71500), '71,500')
  t.equal(formatMs(0.7), '0.7')
  t.equal(formatMs(515), '515.0')
  t.equal(formatRatio(0.69), '0.69×')
  t.equal(formatRatio(180 / 71500), '0.0025×', 'a small ratio never reads as 0×')
  t.equal(formatPercent(0.25), '25.0 %')
  t.equal(formatCount(null), NOT_MEASURED)
  t.equal(formatMs(Number.NaN), NOT_MEASURED)
})

t.test('a full run renders every section, with charts, numbers and the why of each', async (t) => {
  const dir = runDir(t)
  const report = await renderReport(dir)
  t.strictSame(report.sections, ['summary', 'throughput', 'latency', 'scaling', 'drills', 'rate-limit', 'consistency', 'load', 'k6'])
  t.strictSame(report.skipped, [])
  t.strictSame(report.warnings, [], 'vega-lite and vega had nothing to warn about')
  t.equal(report.markdownPath, join(dir, 'report.md'))
  t.equal(report.htmlPath, join(dir, 'report.html'))
  t.ok(existsSync(report.markdownPath) && existsSync(report.htmlPath))

  const html = readFileSync(report.htmlPath, 'utf8')
  const md = readFileSync(report.markdownPath, 'utf8')
  const charts = ['balancer-kill', 'balancer-redis', 'counters-check-memory', 'counters-check-redis', 'latency', 'load-share',
    'prometheus-kill', 'prometheus-redis', 'rate-limit-rate-limit', 'scaling-balanced', 'scaling-cpu', 'throughput', 'timeline-kill', 'timeline-redis', 'timeline-reload']
  t.strictSame(readdirSync(join(dir, 'charts')).sort(), charts.map((c) => `${c}.svg`))
  t.equal(count(html, /<svg[\s>]/g), charts.length, 'one inline <svg> per chart')
  for (const chart of charts) {
    t.match(md, `](charts/${chart}.svg)`, `report.md embeds charts/${chart}.svg`)
    t.match(readFileSync(join(dir, 'charts', `${chart}.svg`), 'utf8'), /^<svg [^>]*width="\d+(\.\d+)?" height="\d+(\.\d+)?"/)
  }

  t.notMatch(html, /<script/i, 'no scripts')
  t.notMatch(html, /<link/i, 'no linked stylesheets')
  t.notMatch(html, /\b(src|href)\s*=\s*["']?\s*(https?:)?\/\//i, 'nothing fetched from elsewhere')
  t.notMatch(html, /url\(\s*["']?(https?:)?\/\//i, 'no remote url() in styles')
  const ids = [...html.matchAll(/\bid="([^"]+)"/g)].map((m) => m[1])
  t.equal(new Set(ids).size, ids.length, 'ids are unique across the inline charts')
  t.match(html, '<title>scale-lab report: 2026-11-28T01-20-00Z</title>')
  t.match(html, '2 CPU cores, Node v20.20.0, nginx 1.22.1, Redis 7.0.15')

  for (const doc of [html, md]) {
    for (const [text, what] of IN_BOTH) t.match(doc, text, what)
    for (const [section, [first, second]] of Object.entries(WHY)) {
      t.match(doc, first, `the ${section} why, line 1`)
      t.match(doc, second, `the ${section} why, line 2`)
    }
  }
  t.equal(count(html, /<aside class="why">/g), 9, 'one why per section')
  t.equal(count(md, /^> \*\*Why:\*\*/gm), 9)
})

t.test('a folder with one kind shows only its sections', async (t) => {
  const kill = await renderReport(runDir(t, ['kill.json']))
  t.strictSame(kill.sections, ['summary', 'drills'])
  const html = readFileSync(kill.htmlPath, 'utf8')
  t.equal(count(html, /<svg[\s>]/g), 3, 'the timeline, Prometheus\' series, the balancer\'s view')
  t.notMatch(html, 'Throughput by configuration')
  t.notMatch(html, 'Consistency check')
  t.match(html, 'drill kill: PASS')

  const onlyBench = await renderReport(runDir(t, ['bench.json']))
  t.strictSame(onlyBench.sections, ['summary', 'throughput', 'latency', 'scaling'])

  const onlyLoad = await renderReport(runDir(t, ['load.json']))
  t.strictSame(onlyLoad.sections, ['load'], 'no verdicts and no targets: no summary')

  const onlyK6 = await renderReport(runDir(t, ['k6-load.json']))
  t.strictSame(onlyK6.sections, ['summary', 'k6'])
  t.match(readFileSync(onlyK6.markdownPath, 'utf8'), /# scale-lab report: scale-lab-report-/, 'no meta: the folder names the run')

  const checks = await renderReport(runDir(t, ['check-redis.json', 'check-memory.json']))
  t.strictSame(checks.sections, ['summary', 'consistency'])
  const md = readFileSync(checks.markdownPath, 'utf8')
  t.ok(md.indexOf('STORE=memory: FAIL') < md.indexOf('STORE=redis: PASS'), 'memory first: the mistake, then the fix')
})

t.test('an empty folder is an error that says what a run folder holds', async (t) => {
  const dir = tempDir(t)
  await t.rejects(renderReport(dir), { name: 'NothingToReportError', message: /nothing to report in .*bench\.json/ })
  t.notOk(existsSync(join(dir, 'report.html')), 'nothing written')
  await t.rejects(renderReport(join(dir, 'missing')), NothingToReportError)
  writeFileSync(join(dir, 'bench.json'), '{ "kind": "bench"')
  await t.rejects(renderReport(dir), { message: /bench\.json: not valid JSON/ }, 'the unusable file is named')
})

t.test('unknown files are ignored; a result that breaks the contract is set aside and named', async (t) => {
  const dir = runDir(t, ['kill.json'])
  writeJson(dir, 'notes.json', { hello: 'world' })
  writeJson(dir, 'other.json', { kind: 'something-else' })
  writeJson(dir, 'list.json', [1, 2, 3])
  writeJson(dir, 'bench.json', { ...bench(), cells: 'none' })
  writeJson(dir, 'k6-broken.json', { root_group: {} })
  const report = await renderReport(dir)
  t.strictSame(report.sections, ['summary', 'drills'])
  t.strictSame(report.skipped, [
    'bench.json: /cells: expected array, got "none"',
    'k6-broken.json: named like a k6 summary but has no "metrics" object'
  ])
  t.match(readFileSync(report.htmlPath, 'utf8'), /Files not used.*bench\.json: \/cells: expected array/s)
  t.match(readFileSync(report.markdownPath, 'utf8'), 'Files not used:')

  // Many problems are summarised, not dumped.
  const many = runDir(t, ['kill.json'])
  writeJson(many, 'check-x.json', { kind: 'check' })
  const [skipped] = (await renderReport(many)).skipped
  t.match(skipped, /^check-x\.json: \/meta: missing; \/store: missing; \/keys: missing; and \d+ more$/)

  // A bench.json of the version before bench results carried their own ratios and costs.
  const older = runDir(t, ['kill.json'])
  const { stack: _stack, baselines: _baselines, ...before } = bench()
  writeJson(older, 'bench.json', before)
  t.strictSame((await renderReport(older)).skipped, ['bench.json: /stack: missing; /baselines: missing'])
})

t.test('re-rendering replaces the report and its charts', async (t) => {
  const dir = runDir(t)
  await renderReport(dir)
  for (const file of readdirSync(dir).filter((f) => f !== 'kill.json' && f.endsWith('.json'))) rmSync(join(dir, file))
  const again = await renderReport(dir)
  t.strictSame(again.sections, ['summary', 'drills'], 'report.md and report.html are not read back as results')
  t.strictSame(readdirSync(join(dir, 'charts')).sort(), ['balancer-kill.svg', 'prometheus-kill.svg', 'timeline-kill.svg'], 'stale charts are gone')
})

t.test('a bench without the reference cells leaves out the ratios and says why', async (t) => {
  const dir = tempDir(t)
  const base = bench()
  const cells = base.cells.filter((c) => c.via !== 'nginx-only' && c.via !== 'direct')
  // A duplicate instance count stays off the curve; an open-model run may be absent.
  const duplicate = { ...cells.find((c) => c.id === 'nginx-2-work')!, id: 'nginx-2-work-again', label: 'nginx → 2 again' }
  const result: BenchResult = { ...base, baselines: { direct: null, ceiling: null }, cells: [...cells, duplicate], openModel: null, openModelOthers: [], targets: [] }
  writeJson(dir, 'bench.json', result)
  const report = await renderReport(dir)
  t.strictSame(report.sections, ['throughput', 'latency', 'scaling'], 'no targets and no verdicts: no summary')
  const md = readFileSync(report.markdownPath, 'utf8')
  t.match(md, 'No cell is one instance direct on GET /, so there is no "× 1 direct" column.')
  t.match(md, 'No nginx-only cell was measured, so there is no "× ceiling" column.')
  t.notMatch(md, '| × 1 direct |')
  t.notMatch(md, 'Open model:')
  t.match(md, 'Not on the curve (another cell has the same instance count): nginx → 2 again.')

  const flat = tempDir(t)
  writeJson(flat, 'bench.json', { ...base, cells: base.cells.filter((c) => c.group !== 'cpu' && c.group !== 'balanced') })
  t.strictSame((await renderReport(flat)).sections, ['summary', 'throughput', 'latency'], 'no series with two instance counts: no scaling curve')

  const empty = tempDir(t)
  writeJson(empty, 'bench.json', { ...base, cells: [], openModel: null, openModelOthers: [] })
  t.strictSame((await renderReport(empty)).sections, ['summary'], 'targets alone')
})

t.test('the open model\'s cost: said without a busy share when /proc/stat was unreadable, absent from older runs', async (t) => {
  const base = bench()
  const noShare = tempDir(t)
  writeJson(noShare, 'bench.json', { ...base, openModelCost: { ...base.openModelCost!, busyShare: null } })
  const md = readFileSync((await renderReport(noShare)).markdownPath, 'utf8')
  t.match(md, 'Redis 32) in its closed-loop cell. At a fixed rate', 'the cost, without a busy share')
  t.notMatch(md, 'cores were')

  const older = tempDir(t)
  const { openModelCost: _, ...before } = base
  writeJson(older, 'bench.json', before)
  const olderMd = readFileSync((await renderReport(older)).markdownPath, 'utf8')
  t.match(olderMd, 'open model, GET /kv via nginx → 1 at the same rate #1', 'the open-model runs still shown')
  t.notMatch(olderMd, 'At this rate a request of the stack cost', 'no cost where none was measured')
})

t.test('Prometheus\' series: a Prometheus that could not be read, one with no samples, counts off by more than 2% each say so', async (t) => {
  const kill = killDrill()
  const view = kill.prometheus!
  const texts = (drill: DrillResult) => prometheusBlocks('kill.json', drill).flatMap((b) => (b.type === 'text' ? [b.text] : []))
  t.strictSame(texts({ ...kill, prometheus: { ...view, series: [], error: 'fetch failed' } }),
    ['No Prometheus series: http://127.0.0.1:9090 could not be read when the load ended (fetch failed).'])
  t.strictSame(texts({ ...kill, prometheus: { ...view, series: [] } }), ['No Prometheus series: http://127.0.0.1:9090 held no samples of the instances for the load.'])
  const retried = texts({ ...kill, load: { ...kill.load, requests: Math.round(kill.load.requests * 0.9) } })[0]!
  t.match(retried, /\+11\.1%, outside the 2% target\. .*A request nginx retried is counted by every instance that answered it/)
  const one = prometheusBlocks('kill.json', { ...kill, prometheus: { ...view, series: view.series.filter((s) => s.instance === 'api-1') } })
  t.strictSame(one.map((b) => b.type), ['chart', 'text'], 'one instance: no balancer to mix counters up')
  t.match(texts({ ...kill, load: { ...kill.load, requests: 0 } })[0], 'nothing sent, outside the 2% target')
  const ownRequests = { ...kill, verdict: { ...kill.verdict, checks: kill.verdict.checks.filter((c) => !c.name.startsWith('requests the instances counted')) } }
  t.match(texts(ownRequests)[0], /the load generator [\d,]+: not compared, the drill sends requests of its own besides the load\.$/, 'a drill that left the row out (abuse) is not compared')
})

t.test('a run with two bench files shows bench.json and says so', async (t) => {
  const dir = runDir(t, ['bench.json'])
  writeJson(dir, 'bench-old.json', bench())
  const report = await renderReport(dir)
  t.strictSame(report.skipped, ['bench-old.json: a run holds one bench; bench.json is the one shown'])
})

t.test('drills without timeline, events or recoveries still render', async (t) => {
  const dir = tempDir(t)
  const drill = killDrill()
  const bare: DrillResult = { ...drill, drill: 'reload', options: {}, events: [], recoveries: undefined, restarts: {}, load: { ...drill.load, timeline: undefined, errors: { total: 0, byKind: {} } }, audit: { ...drill.audit, rules: [] } }
  writeJson(dir, 'reload.json', bare)
  const report = await renderReport(dir)
  const md = readFileSync(report.markdownPath, 'utf8')
  t.match(md, 'No per-second timeline was recorded')
  t.match(md, 'No events were recorded.')
  t.notMatch(md, 'worker killed')
  t.notMatch(md, 'audit rule')
  t.notOk(existsSync(join(dir, 'charts', 'timeline-reload.svg')))
})

t.test('a drill the report does not know renders generically: its events labelled, its faults tabled, latency per second drawn', async (t) => {
  const dir = runDir(t, ['kill.json'])
  const kill = killDrill()
  const timeline = kill.load.timeline!.map((p, i) => ({ ...p, latencyMs: { p50: 4 + (i % 3), p99: i >= 3 && i < 9 ? 1040 : 12, max: 1100 } }))
  const hang: DrillResult = {
    ...kill,
    drill: 'hang',
    options: { frozenForSeconds: 6 },
    load: { ...kill.load, timeline },
    events: [{ t: 3, type: 'freeze', target: 'api-2' }, { t: 4.1, type: 'routed', target: 'api-2' }, { t: 9, type: 'thaw', target: 'api-2' }],
    recoveries: undefined,
    faults: [
      { target: 'api-2', frozenForSeconds: 6, detectedAfterMs: 1040, replaced: false, note: null },
      { target: 'api-3', frozenForSeconds: 6, replaced: true }
    ]
  }
  writeJson(dir, 'hang.json', hang)
  const report = await renderReport(dir)
  t.strictSame(report.skipped, [])
  t.strictSame(report.warnings, [], 'vega-lite and vega had nothing to warn about')
  const md = readFileSync(report.markdownPath, 'utf8')
  t.ok(md.indexOf('drill kill: PASS') < md.indexOf('drill hang: PASS'), 'known drills first, new ones after')
  t.match(md, '| target | frozenForSeconds | detectedAfterMs | replaced | note |')
  t.match(md, '| api-2 | 6 | 1,040 | no | – |')
  t.match(md, '| api-3 | 6 |  | yes |  |', 'a key a row lacks is left blank')
  t.match(md, 'Events: 1 × freeze, 1 × routed, 1 × thaw.')
  const svg = readFileSync(join(dir, 'charts', 'timeline-hang.svg'), 'utf8')
  t.match(svg, 'freeze api-2', 'an unknown event type is labelled on the timeline')
  t.match(svg, 'thaw api-2')
  t.notMatch(svg, '>routed api-2<', 'a known one is not: its colour says what it is')
  t.match(svg, 'ms (p50 blue, p99 orange)', 'latency per second gets its own panel')
  t.notMatch(readFileSync(join(dir, 'charts', 'timeline-kill.svg'), 'utf8'), 'p50 blue', 'and only when recorded')
})

t.test('k6 summaries are read defensively', async (t) => {
  const sparse = readK6Summary('k6-x.json', 'x', { metrics: { http_reqs: { values: { count: 10 } }, 'http_reqs{instance:api-1}': { values: { count: 7 } }, weird: 5 } })
  t.equal(sparse.requests, 10)
  t.equal(sparse.rps, null)
  t.equal(sparse.duration.p95, null)
  t.equal(sparse.durationMs, null)
  t.strictSame(sparse.instances, { 'api-1': 7 }, 'any instance-tagged metric will do')
  t.strictSame(sparse.thresholds, [])
  const older = readK6Summary('k6-y.json', 'y', {
    metrics: {
      'instance_responses{instance:api-2}': { values: { count: 3 } },
      failures: { type: 'rate', values: { rate: 0.5 } },
      http_req_failed: { values: { rate: 0.1 }, thresholds: { 'rate<0.01': { ok: false }, 'rate<1': {} } }
    }
  })
  t.strictSame(older.instances, { 'api-2': 3 })
  t.strictSame(older.custom, [{ name: 'failures', kind: 'rate', value: 0.5 }])
  t.strictSame(older.thresholds, [{ metric: 'http_req_failed', expression: 'rate<0.01', ok: false }, { metric: 'http_req_failed', expression: 'rate<1', ok: null }])

  const dir = tempDir(t)
  writeJson(dir, 'k6-y.json', { metrics: { http_req_failed: { values: { rate: 0.1 }, thresholds: { 'rate<0.01': { ok: false } } } } })
  writeJson(dir, 'k6-z.json', { metrics: {} })
  const report = await renderReport(dir)
  t.strictSame(report.sections, ['summary', 'k6'])
  const md = readFileSync(report.markdownPath, 'utf8')
  t.match(md, '| k6 y | k6-y.json | FAIL | 0 of 1 thresholds held |')
  t.match(md, 'No thresholds were set in this script.')
  t.match(md, `| p(95) ms | ${NOT_MEASURED} |`)
})

t.test('the report command renders a folder, or the newest run, and prints the paths', async (t) => {
  const reports = tempDir(t)
  for (const run of ['2026-11-27T10-00-00Z', '2026-11-28T01-20-00Z']) {
    mkdirSync(join(reports, run))
    cpSync(join(FIXTURE_DIR, 'kill.json'), join(reports, run, 'kill.json'))
  }
  t.equal(await newestRunDir(reports), join(reports, '2026-11-28T01-20-00Z'))
  await t.rejects(newestRunDir(join(reports, 'nope')), { message: /no .*nope folder/ })
  const emptyReports = tempDir(t)
  await t.rejects(newestRunDir(emptyReports), { message: /no run folders in/ })

  const logged: string[] = []
  const originalLog = console.log
  console.log = (...args: unknown[]) => { logged.push(args.join(' ')) }
  t.teardown(() => { console.log = originalLog })
  const program = new Command().exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} })
  registerReportCommand(program)
  await program.parseAsync(['node', 'scale-lab', 'report', join(reports, '2026-11-27T10-00-00Z')])
  console.log = originalLog
  t.strictSame(logged, ['sections: summary, drills', join(reports, '2026-11-27T10-00-00Z', 'report.md'), join(reports, '2026-11-27T10-00-00Z', 'report.html')])

  // Without a folder: the newest run under the reports folder, printed relative to the working folder.
  const cwd = process.cwd()
  t.teardown(() => process.chdir(cwd))
  const inReports = tempDir(t)
  mkdirSync(join(inReports, 'reports', 'run-b'), { recursive: true })
  cpSync(join(FIXTURE_DIR, 'load.json'), join(inReports, 'reports', 'run-b', 'load.json'))
  mkdirSync(join(inReports, 'reports', 'run-a'))
  process.chdir(inReports)
  logged.length = 0
  console.log = (...args: unknown[]) => { logged.push(args.join(' ')) }
  const newest = new Command().exitOverride()
  registerReportCommand(newest, join(inReports, 'reports'))
  await newest.parseAsync(['node', 'scale-lab', 'report'])
  console.log = originalLog
  process.chdir(cwd)
  t.strictSame(logged, ['sections: load', join('reports', 'run-b', 'report.md'), join('reports', 'run-b', 'report.html')])

  const failing = new Command().exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} })
  registerReportCommand(failing)
  await t.rejects(failing.parseAsync(['node', 'scale-lab', 'report', emptyReports]), CommanderError, 'an empty folder is a one-line error and exit code 1')
})
