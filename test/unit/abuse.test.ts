// The abuse drill's arithmetic and its report section, without a stack: per-phase
// figures of the normal clients, the flood's refusals counted on its excess, the
// verdict rows, the attack body, and the section's table and chart.
import t from 'tap'
import { ABUSE_BOUNDS, edgeTimes, floodRefusal, manySmallObjectsBody, normalChecks, normalStats, p99Of, statusSummary, type NormalAnswer } from '../../src/lab/drills/abuse-phases.js'
import { manyAddresses } from '../../src/lab/drills/abuse-attacks.js'
import { abuseLesson } from '../../src/lab/lessons/abuse.js'
import { parseFlags } from '../../src/lab/lessons/flags.js'
import { emptyRun } from '../../src/lab/report/read-run.js'
import { abuseSection } from '../../src/lab/report/sections/abuse.js'
import { DrillResultSchema, problemsOf, type AbusePhase, type DrillResult } from '../../src/lab/results.js'
import { fixtureFiles } from '../fixtures/report-run.js'

const answer = (sentAtMs: number, status: number, latencyMs: number, operation: NormalAnswer['operation'] = 'kvGet'): NormalAnswer => ({ sentAtMs, status, latencyMs, operation })

t.test('normalStats: the window by send time, successes, p99, and full-store writes apart', async (t) => {
  const answers = [
    ...Array.from({ length: 98 }, (_, i) => answer(1000 + i, 200, 5)),
    answer(1100, 503, 40, 'kvSet'),
    answer(1101, 502, 80),
    answer(999, 500, 900), // before the window
    answer(2000, 500, 900) // at its end: the next window's
  ]
  const stats = normalStats(answers, 1000, 2000)
  t.strictSame(stats, { requests: 100, ok: 98, excused: 0, successPercent: 98, p99Ms: 40, maxMs: 80 })
  const excused = normalStats(answers, 1000, 2000, true)
  t.equal(excused.excused, 1, 'the 503 write is set apart')
  t.equal(excused.successPercent, 98.99, 'of the 99 judged')
  t.strictSame(normalStats([], 0, 1), { requests: 0, ok: 0, excused: 0, successPercent: 0, p99Ms: null, maxMs: null })
})

t.test('normalChecks: both rows, each against its bound', async (t) => {
  const good = normalChecks('half-open', { requests: 1000, ok: 1000, excused: 0, successPercent: 100, p99Ms: 12, maxMs: 20 }, ABUSE_BOUNDS)
  t.strictSame(good.map((c) => c.pass), [true, true])
  t.match(good[0]!.name, /^half-open: normal clients/)
  const bad = normalChecks('cpu-route', { requests: 1000, ok: 998, excused: 2, successPercent: 99.8, p99Ms: 101, maxMs: 300 }, ABUSE_BOUNDS)
  t.strictSame(bad.map((c) => c.pass), [false, false])
  t.match(bad[0]!.actual, /2 writes refused by the full store not counted/)
  const none = normalChecks('x', { requests: 0, ok: 0, excused: 0, successPercent: 0, p99Ms: null, maxMs: null }, ABUSE_BOUNDS)
  t.strictSame(none.map((c) => c.pass), [false, false], 'no answers is no pass')
  t.equal(none[1]!.actual, 'no answers')
})

t.test('floodRefusal: counted on the requests beyond rate × seconds + burst', async (t) => {
  // 10× a 200 req/s limit for 5 s: 10,000 sent, 1,100 allowed, 8,900 to refuse.
  t.strictSame(floodRefusal({ sent: 10_000, refused: 8_900, seconds: 5 }, { rate: 200, burst: 100 }), { allowance: 1100, excess: 8900, refusedPercent: 100 })
  t.equal(floodRefusal({ sent: 10_000, refused: 8_010, seconds: 5 }, { rate: 200, burst: 100 }).refusedPercent, 90)
  t.equal(floodRefusal({ sent: 10_000, refused: 9_500, seconds: 5 }, { rate: 200, burst: 100 }).refusedPercent, 100, 'capped: a limiter stricter than its allowance')
  t.strictSame(floodRefusal({ sent: 500, refused: 0, seconds: 5 }, { rate: 200, burst: 100 }), { allowance: 1100, excess: 0, refusedPercent: 0 }, 'no excess, nothing to refuse')
})

t.test('p99Of, statusSummary, manyAddresses', async (t) => {
  t.equal(p99Of(undefined), null)
  t.equal(p99Of([]), null)
  t.equal(p99Of([3, 1, 2]), 3)
  t.equal(statusSummary({}), 'none')
  t.equal(statusSummary({ 404: 3, 429: 5012, 0: 1 }), '429 × 5,012, 404 × 3, no answer × 1')
  t.equal(manyAddresses(0), '127.0.1.1')
  t.equal(manyAddresses(249), '127.0.1.250')
  t.equal(manyAddresses(250), '127.0.2.1')
})

t.test('edgeTimes: nginx\'s own time over one path\'s answers of one status, whole ms', async (t) => {
  const line = (path: string, status: number, ms: number) => ({ method: 'GET', path, status, startedAtMs: 1_796_000_000_000.5 - ms, endedAtMs: 1_796_000_000_000.5, tries: [] })
  const flood = [...Array.from({ length: 99 }, () => line('/kv/f', 429, 0)), line('/kv/f', 404, 9), line('/kv/other', 429, 7)]
  t.equal(edgeTimes(flood, '/kv/f', 429), '< 1 ms (max 0 ms) over 99', 'the 404 and the other path left out')
  t.equal(edgeTimes([...flood, line('/kv/f', 429, 12), line('/kv/f', 429, 3)], '/kv/f', 429), '3 ms (max 12 ms) over 101')
  t.equal(edgeTimes([], '/kv/f', 429), 'no 429 in nginx\'s log')
})

t.test('manySmallObjectsBody: as many empty objects as fit, valid JSON', async (t) => {
  const body = manySmallObjectsBody(64 * 1024)
  t.ok(body.length <= 64 * 1024 && body.length > 64 * 1024 - 3, `${body.length} bytes`)
  const parsed = JSON.parse(body) as { value: unknown[] }
  t.equal(parsed.value.length, 21_841)
  t.strictSame(parsed.value[0], {})
})

t.test('the lesson: its options, its stack changes, and what it refuses', async (t) => {
  const defaults = parseFlags(abuseLesson.options, {})
  t.equal(abuseLesson.invalid?.(defaults), undefined)
  t.strictSame(abuseLesson.usesStack === true && abuseLesson.stack?.(defaults), { clientRate: 200, clientBurst: 100, clientWork: 2 })
  t.match(abuseLesson.invalid?.(parseFlags(abuseLesson.options, { rate: '150' })), /at most half of --client-rate/)
  t.match(abuseLesson.invalid?.(parseFlags(abuseLesson.options, { rate: 'max' })), /--rate needs a number/)
})

const phase = (name: string, over: Partial<AbusePhase> = {}): AbusePhase => ({
  phase: name,
  attack: `${name} attack`,
  from: '127.0.0.2',
  startSeconds: 2,
  endSeconds: 7,
  normal: { requests: 500, ok: 500, excused: 0, successPercent: 100, p99Ms: 12.5, maxMs: 30 },
  attacker: { requests: 10_000, byStatus: { 429: 8900, 404: 1100 }, p99Ms: 1.2 },
  detail: 'allowance 1100',
  ...over
})

t.test('the report section: a row per attack, a chart, nothing for other drills', async (t) => {
  const kill = fixtureFiles()['kill.json'] as DrillResult
  const abuse: DrillResult = {
    ...kill,
    drill: 'abuse',
    phases: [phase('baseline', { from: '', detail: '' }), phase('request-flood'), phase('write-flood', { normal: { requests: 400, ok: 390, excused: 10, successPercent: 100, p99Ms: 20, maxMs: 40 } })]
  }
  t.strictSame(problemsOf(DrillResultSchema, abuse), [], 'a drill result with phases fits the contract')
  const run = emptyRun('/nowhere')
  t.equal(abuseSection(run), null, 'no drill, no section')
  run.drills.push({ file: 'kill.json', result: kill })
  t.equal(abuseSection(run), null, 'a drill without phases, no section')
  run.drills.push({ file: 'abuse.json', result: abuse })
  const section = abuseSection(run)!
  t.equal(section.id, 'abuse')
  const tableBlock = section.blocks.find((b) => b.type === 'table')
  if (tableBlock?.type !== 'table') throw new Error('no table')
  t.strictSame(tableBlock.rows.map((r) => r[0]), ['baseline', 'request-flood', 'write-flood'])
  t.equal(tableBlock.rows[0]![1], '–', 'the baseline has no attacker')
  t.match(tableBlock.rows[2]![2], /10 writes refused: store full/)
  t.equal(tableBlock.rows[1]![6], '429 × 8,900, 404 × 1,100')
  t.ok(section.blocks.some((b) => b.type === 'chart'), 'the p99 chart')
})
