// The overload drill's pure parts: a level from its answers, tries per request
// from nginx's log, the verdict, the --levels option, the lesson's headline, and
// the report's section (the goodput chart, before and after).
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { errorCode, isShed, levelSummary, nginxShedP99Ms, overloadChecks, triesPerRequest, type LevelAnswer } from '../../src/lab/drills/overload-levels.js'
import { parseFlags } from '../../src/lab/lessons/flags.js'
import { overloadLesson } from '../../src/lab/lessons/overload.js'
import { renderReport } from '../../src/lab/report/render-report.js'
import { OverloadResultSchema, problemsOf } from '../../src/lab/results.js'
import { parseAccessLine, type AccessLine } from '../../src/lab/stack/access-log.js'
import { verdictOf } from '../../src/lab/verdict.js'
import { overloadResult } from '../fixtures/overload-run.js'

const spec = { multiple: 2, offeredRps: 10, durationSeconds: 1, offered: 10, timeoutMs: 2000 }
const overloaded = { status: 503, code: 'SL_OVERLOADED' }

t.test('a level: served in time, shed, failed by kind, and what never settled', async (t) => {
  const answers: LevelAnswer[] = [
    { status: 200, latencyMs: 10 },
    { status: 200, latencyMs: 30 },
    { status: 200, latencyMs: 2500 }, // answered after the client gave up: failed
    { ...overloaded, latencyMs: 2 },
    { status: 429, latencyMs: 4, code: 'SL_RATE_LIMITED' },
    { status: 503, latencyMs: 5, code: 'SL_STORE_UNAVAILABLE' }, // not shedding
    { status: 502, latencyMs: 7 },
    { status: 0, latencyMs: 2000, error: 'timeout' },
    { status: 0, latencyMs: 1 }
  ]
  const level = levelSummary(spec, answers, { perRequest: 1.25, logged: 8 }, 0.5)
  t.match(level, { goodput: 2, shed: 2, failed: 6, goodputRps: 2, shedRps: 2, failedRps: 6, triesPerRequest: 1.25, loggedRequests: 8, nginxShedP99Ms: 0.5 })
  t.strictSame(level.failedByKind, { late: 1, 'http:503 SL_STORE_UNAVAILABLE': 1, 'http:502': 1, timeout: 1, 'no answer': 1, 'never settled': 1 })
  t.equal(level.goodput + level.shed + level.failed, level.offered, 'every offered request is counted once')
  t.strictSame(level.answeredMs, { p50: 10, p99: 30 })
  t.equal(level.shedP99Ms, 4)

  const empty = levelSummary(spec, [], { perRequest: null, logged: 0 }, null)
  t.match(empty, { goodput: 0, shed: 0, failed: 10, answeredMs: null, shedP99Ms: null, nginxShedP99Ms: null, triesPerRequest: null })
})

t.test('shedding is the instance\'s 503 SL_OVERLOADED or a 429, read from the error body', async (t) => {
  t.ok(isShed({ ...overloaded, latencyMs: 1 }))
  t.ok(isShed({ status: 429, latencyMs: 1 }))
  t.notOk(isShed({ status: 503, latencyMs: 1 }))
  t.equal(errorCode('{"statusCode":503,"code":"SL_OVERLOADED"}'), 'SL_OVERLOADED')
  t.equal(errorCode('{"code":5}'), undefined)
  t.equal(errorCode('<html>'), undefined)
  t.equal(errorCode('null'), undefined)
})

t.test('tries per request: the route\'s requests in the window, from nginx\'s log lines', async (t) => {
  const at = (seconds: number, path: string, upstream: string, ustatus: string, utime: string) =>
    parseAccessLine(`127.0.0.1 [30/Nov/2026:22:00:00 +0000] "GET ${path} HTTP/1.1" 200 90 0.010 rid=a ik=- upstream=${upstream} ustatus=${ustatus} utime=${utime} t=${seconds}.010`)!
  const lines: AccessLine[] = [
    at(100, '/work?ms=5', '127.0.0.1:3001', '200', '0.009'),
    at(101, '/work?ms=5', '127.0.0.1:3001, 127.0.0.1:3002, 127.0.0.1:3003', '503, 503, 200', '0.001, 0.001, 0.008'),
    at(101, '/kv/a', '127.0.0.1:3001, 127.0.0.1:3002', '502, 200', '0.001, 0.001'), // another route
    at(102, '/work?ms=5', '-', '-', '-'), // answered by nginx itself (limit_conn)
    at(200, '/work?ms=5', '127.0.0.1:3001, 127.0.0.1:3002', '503, 503', '0.001, 0.001') // outside the window
  ]
  t.strictSame(triesPerRequest(lines, '/work', 100_000, 150_000), { perRequest: round(4 / 3), logged: 3 })
  t.strictSame(triesPerRequest(lines, '/work', 300_000, 400_000), { perRequest: null, logged: 0 })
})

t.test('nginx\'s time for the refusals: the route\'s 503s and 429s in the window, read → answered', async (t) => {
  const at = (seconds: number, path: string, status: number, took: string) =>
    parseAccessLine(`127.0.0.1 [01/Dec/2026:20:46:00 +0000] "GET ${path} HTTP/1.1" ${status} 129 ${took} rid=a ik=- upstream=scale_lab_work ustatus=502 utime=0.000 t=${seconds}.500`)!
  const lines: AccessLine[] = [
    at(100, '/work?ms=5', 503, '0.000'),
    at(100, '/work?ms=5', 429, '0.002'),
    at(101, '/work?ms=5', 503, '0.040'), // refused by an instance after its queue
    at(101, '/work?ms=5', 200, '0.900'), // served: not a refusal
    at(101, '/kv/a', 503, '0.500'), // another route
    at(200, '/work?ms=5', 503, '1.000') // outside the window
  ]
  t.equal(nginxShedP99Ms(lines, '/work', 100_000, 150_000), 40, 'the nearest rank: of 0, 2 and 40 ms, 40')
  t.equal(nginxShedP99Ms(lines.slice(0, 2), '/work', 100_000, 150_000), 2)
  t.equal(nginxShedP99Ms(lines, '/work', 300_000, 400_000), null, 'none logged')
})

const round = (v: number) => Math.round(v * 1000) / 1000

t.test('the verdict at the highest level, against the lowest for latency', async (t) => {
  const after = overloadResult(true)
  t.ok(after.verdict.pass)
  t.strictSame(after.verdict.checks.slice(0, 5).map((c) => c.name), [
    'goodput at 2× capacity', 'p99 of answered requests at 2×', 'shed answers at 2× are fast (nginx\'s log)', 'shed answers at 2× as the client timed them',
    'upstream tries per request at 2× (nginx\'s log)'
  ])
  const before = overloadResult(false)
  t.strictSame(before.verdict.checks.slice(0, 5).map((c) => c.pass), [false, false, false, false, false], 'the before picture fails every target')
  t.match(before.verdict.checks[2], { actual: 'none shed' })

  // The client's time is shown, not judged: its own event loop stalls on the saturated cores.
  const clientSlow = overloadChecks(400, after.levels.map((l) => ({ ...l, shedP99Ms: 60 })))
  t.match(clientSlow[2], { pass: true, actual: 'p99 0.4 ms (2010 shed)' })
  t.match(clientSlow[3], { pass: false, informational: true, actual: 'p99 60.0 ms' })
  t.ok(verdictOf(clientSlow).pass, 'a slow client alone does not fail the drill')
  const nginxSlow = overloadChecks(400, after.levels.map((l) => ({ ...l, nginxShedP99Ms: 35 })))
  t.match(nginxSlow[2], { pass: false, actual: 'p99 35.0 ms (2010 shed)' })
  const older = overloadChecks(400, after.levels.map(({ nginxShedP99Ms: _, ...l }) => l))
  t.match(older[2], { pass: false, actual: 'none logged' }, 'a run from before nginx\'s time was kept')

  const unlogged = overloadChecks(400, after.levels.map((l) => ({ ...l, triesPerRequest: null, answeredMs: null })))
  t.match(unlogged[1], { actual: 'none answered', pass: false })
  t.match(unlogged[4], { actual: 'not logged', pass: false })
  const miscounted = overloadChecks(400, [{ ...after.levels[0]!, failed: 1 }])
  t.notOk(miscounted[5]!.pass, 'a level whose counts do not add up fails')
  t.match(overloadChecks(0, after.levels)[0], { pass: false, actual: /\?/ })
  t.strictSame(overloadChecks(400, []).map((c) => c.pass), [false])
})

t.test('--levels: ascending multiples above zero', async (t) => {
  t.strictSame(parseFlags(overloadLesson.options, {}).levels, [0.5, 1, 1.5, 2])
  t.strictSame(parseFlags(overloadLesson.options, { levels: '1,3' }).levels, [1, 3])
  t.throws(() => parseFlags(overloadLesson.options, { levels: '2,1' }), /must go up/)
  t.throws(() => parseFlags(overloadLesson.options, { levels: '0,1' }), /above zero/)
  t.throws(() => parseFlags(overloadLesson.options, { levels: 'two' }), /not a list of numbers/)
})

t.test('the lesson: the before picture changes the stack and is an expected FAIL', async (t) => {
  const noShed = parseFlags(overloadLesson.options, { shed: false })
  t.strictSame(overloadLesson.usesStack === true && overloadLesson.stack?.(noShed), { accessLog: true, workShed: false, retryShed: true })
  t.equal(overloadLesson.resultFile(noShed), 'overload-no-shed.json')
  t.match(overloadLesson.intro?.(noShed), /expect this to fail/)
  t.equal(overloadLesson.step?.(noShed), 'drill overload --no-shed')
  const before = overloadResult(false)
  t.equal(overloadLesson.title(before), 'drill overload --no-shed')
  t.match(overloadLesson.headline(before), { status: 'expected FAIL', text: /at 2×: served 50 req\/s \(13 %\)/ })
  t.match(overloadLesson.headline({ ...before, options: { ...before.options, shed: true } }), { status: 'FAIL' })
  t.match(overloadLesson.headline({ ...before, levels: [] }), { text: 'capacity 400 req/s, no level measured' })
  t.match(overloadLesson.headline(overloadResult(true)), { status: 'PASS', text: /shed 402 req\/s \(p99 0\.4 ms at nginx, 6\.3 ms at the client\)/ }, 'the refusals\' p99 where they were made, then as the client timed them')

  const retries = parseFlags(overloadLesson.options, { retryShed: true })
  t.strictSame(overloadLesson.usesStack === true && overloadLesson.stack?.(retries), { accessLog: true, retryShed: true })
  t.equal(overloadLesson.resultFile(retries), 'overload-retry-shed.json')
  t.match(overloadLesson.intro?.(retries), /nginx retries every refusal/)
  t.equal(overloadLesson.step?.(retries), 'drill overload --retry-shed')
  const retried = overloadResult(true, true)
  t.equal(overloadLesson.title(retried), 'drill overload --retry-shed')
  t.match(overloadLesson.headline(retried), { status: 'expected FAIL', text: /3\.10 tries\/request/ })

  const after = parseFlags(overloadLesson.options, {})
  t.strictSame(overloadLesson.usesStack === true && overloadLesson.stack?.(after), { accessLog: true })
  t.equal(overloadLesson.intro?.(after), undefined)
  t.equal(overloadLesson.step?.(after), 'drill overload')
})

t.test('the report: the goodput chart with before and after, each run\'s levels and verdict', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sl-overload-report-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'overload.json'), JSON.stringify(overloadResult(true)))
  writeFileSync(join(dir, 'overload-no-shed.json'), JSON.stringify(overloadResult(false)))
  writeFileSync(join(dir, 'overload-retry-shed.json'), JSON.stringify(overloadResult(true, true)))
  writeFileSync(join(dir, 'overload-old.json'), JSON.stringify({ ...overloadResult(true), levels: [{ multiple: 2 }] }))
  const report = await renderReport(dir)
  t.strictSame(report.sections, ['summary', 'overload'])
  t.strictSame(report.warnings, [], 'vega-lite and vega had nothing to warn about')
  t.match(report.skipped[0], /^overload-old\.json: \/levels\/0\/offeredRps: missing/)
  t.strictSame(readdirSync(join(dir, 'charts')), ['overload-goodput.svg'])
  const md = readFileSync(report.markdownPath, 'utf8')
  t.match(md, /drill overload --no-shed: FAIL \(overload-no-shed\.json\)/)
  t.match(md, /drill overload: PASS \(overload\.json\)/)
  t.ok(md.indexOf('--no-shed: FAIL') < md.indexOf('--retry-shed: FAIL') && md.indexOf('--retry-shed: FAIL') < md.indexOf('drill overload: PASS'), 'the before first, the after last')
  t.match(md, /drill overload --retry-shed \| overload-retry-shed\.json \| FAIL/, 'each run in the summary')
  t.match(md, /\| 2× \| 800 \| 398 \| 402 \| 0 \|/)
  t.match(md, '| 6.3 | 0.4 | 1 |', 'the shed answers\' p99 as the client timed them, then as nginx did')
  const svg = readFileSync(join(dir, 'charts', 'overload-goodput.svg'), 'utf8')
  t.match(svg, /after: shedding/)
  t.match(svg, /before: no shedding/)
  t.match(svg, /shedding, 503s retried/)
  t.match(svg, /capacity 400 req\/s/)
  t.strictSame(problemsOf(OverloadResultSchema, overloadResult(false)), [])
})
