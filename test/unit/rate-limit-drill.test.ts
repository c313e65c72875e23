// The rate-limit lesson's pure parts: how answers count, how windows are found
// in the 2xx answers' times, and the verdict's rows.
import t from 'tap'
import { admittedPerWindow, classify, countWindows, rateLimitVerdictChecks } from '../../src/lab/drills/rate-limit.js'
import type { RateLimitPhase } from '../../src/lab/results.js'
import { verdictOf } from '../../src/lab/verdict.js'
import { rateLimit } from '../fixtures/report-run.js'

t.test('an answer is admitted (2xx), refused by an instance (429 with x-instance), by the edge (429 without), or other', async (t) => {
  t.equal(classify({ status: 200, headers: { 'x-instance': 'api-1' } }), 'admitted')
  t.equal(classify({ status: 204, headers: {} }), 'admitted')
  t.equal(classify({ status: 429, headers: { 'x-instance': 'api-2' } }), 'refused')
  t.equal(classify({ status: 429, headers: {} }), 'refusedByEdge', 'nginx\'s limit_req answers without an instance')
  t.equal(classify({ status: 503, headers: { 'x-instance': 'api-1' } }), 'other')
  t.equal(classify({ status: 0, headers: {} }), 'other', 'no answer: a timeout or a socket error')
})

t.test('windows are the bursts of 2xx: a silence over a quarter window starts a new one', async (t) => {
  t.equal(countWindows([], 1000), 0, 'nothing admitted, no window')
  t.equal(countWindows([5], 1000), 1)
  const burst = (start: number) => Array.from({ length: 100 }, (_, i) => start + i)
  t.equal(countWindows([...burst(0), ...burst(1000), ...burst(2003)], 1000), 3, 'three windows, the last a little late')
  t.equal(countWindows([...burst(2000), ...burst(0), ...burst(1000)].reverse(), 1000), 3, 'in any order')
  t.equal(countWindows([0, 200, 400, 600, 800], 1000), 1, 'gaps of a fifth of a window stay in one')
  t.equal(countWindows([0, 260], 1000), 2, 'a gap over a quarter window does not')
  t.equal(countWindows([0, 20, 40, 1000], 100), 2, 'relative to the window')
})

/** A phase with `ratio` × the limit of 100/s admitted, and what else the lesson counted. */
function phase (store: RateLimitPhase['store'], ratio: number, extra: Partial<RateLimitPhase> = {}): RateLimitPhase {
  const base = rateLimit().phases.find((p) => p.store === store)!
  return { ...base, ratio, admittedPerSecond: ratio * 100, admittedPerWindow: ratio * 100, ...extra }
}

t.test('the verdict: N× within ±25% for the instance store, 1× within ±5% for the shared one, the direction, nothing else answering', async (t) => {
  const passing = rateLimitVerdictChecks([phase('instance', 3.9), phase('shared', 0.98)], 4)
  t.strictSame(passing.map((c) => [c.name, c.pass]), [
    ['RATE_LIMIT_STORE=instance: admitted ÷ configured (4 instances)', true],
    ['RATE_LIMIT_STORE=shared: admitted ÷ configured', true],
    ['each instance counting alone admits more than the shared budget', true],
    ['the client kept well over N × its limit (sent ÷ seconds)', true],
    ['429s from the edge (nginx) instead of an instance', true],
    ['answers other than 2xx and 429 (errors, timeouts)', true]
  ])
  t.match(passing[0], { expected: '4.00× ± 25%', actual: '3.90× (390/s of 100/s)' })
  t.match(passing[1], { expected: '1.00× ± 5%', actual: '0.98× (98/s of 100/s)' })
  t.equal(verdictOf(passing).pass, true)

  const bounds = (instance: number, shared: number) => rateLimitVerdictChecks([phase('instance', instance), phase('shared', shared)], 4).slice(0, 2).map((c) => c.pass)
  t.strictSame(bounds(3, 1.05), [true, true], 'the bounds themselves hold')
  t.strictSame(bounds(2.9, 1.06), [false, false], 'just past them does not')
  t.strictSame(bounds(5.1, 0.94), [false, false])
  t.strictSame(rateLimitVerdictChecks([phase('instance', 2), phase('shared', 1)], 2).map((c) => c.pass).slice(0, 1), [true], 'N is the instances behind nginx')

  const upsideDown = rateLimitVerdictChecks([phase('instance', 1), phase('shared', 1)], 4)
  t.strictSame(upsideDown.map((c) => c.pass), [false, true, false, true, true, true], 'a per-instance limit that holds for the cluster is not the lesson')

  const noisy = rateLimitVerdictChecks([phase('instance', 4, { refusedByEdge: 12 }), phase('shared', 1, { other: 3 })], 4)
  t.match(noisy[4], { actual: '12', pass: false }, 'the edge refused some: it hid the service\'s limit')
  t.match(noisy[5], { actual: '3', pass: false })

  const slowClient = rateLimitVerdictChecks([phase('instance', 2.1, { sent: 500 }), phase('shared', 1)], 4)
  t.match(slowClient[3], { actual: 'instance 1.11×, shared 10.00×', pass: false, informational: true }, 'a client that could not send enough explains a low instance ratio')
  t.equal(verdictOf(slowClient).pass, false, 'the instance row decides')

  const missing = rateLimitVerdictChecks([phase('instance', 4)], 4)
  t.strictSame(missing.map((c) => c.pass), [true, false, false, true, true, true], 'a store not measured fails its rows')
  t.equal(missing[1]!.actual, 'not measured')
})

t.test('admitted per window: the cluster\'s windows for the shared store, each instance\'s own for the instance store', async (t) => {
  const burst = (start: number, n: number) => Array.from({ length: n }, (_, i) => start + i * 4)
  // Instance store: api-2 stalled once and keeps its windows half a window late; together the bursts leave no quarter-window gap.
  const instance = new Map([
    ['api-1', [...burst(0, 100), ...burst(1000, 100), ...burst(2000, 100)]],
    ['api-2', [...burst(500, 100), ...burst(1500, 100), ...burst(2500, 100)]]
  ])
  t.equal(countWindows([...instance.values()].flat(), 1000), 1, 'counted for the cluster the windows would merge')
  t.strictSame(admittedPerWindow('instance', instance, 1000), { windows: 3, perWindow: 200 }, 'each instance: 100 per window')
  const shared = new Map([['api-1', burst(0, 30)], ['api-2', [...burst(120, 20), ...burst(1000, 50)]]])
  t.strictSame(admittedPerWindow('shared', shared, 1000), { windows: 2, perWindow: 50 })
  t.strictSame(admittedPerWindow('shared', new Map(), 1000), { windows: 0, perWindow: 0 }, 'nothing admitted')
  t.strictSame(admittedPerWindow('instance', new Map(), 1000), { windows: 0, perWindow: 0 })
})
