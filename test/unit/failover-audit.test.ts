import t from 'tap'
import { Ledger, type Mutation } from '../../src/lab/audit/ledger.js'
import { atRiskMutations, phaseLoss, REPLAYED_BEFORE_FAULT, sharedAnswers, windowOf, type StoreAnswer } from '../../src/lab/drills/failover-audit.js'
import { phaseTargets } from '../../src/lab/drills/traffic.js'

// The failover drill's audit on hand-made ledgers: what each failover lost,
// which writes it put at risk, and the window clients saw.

const p1 = phaseTargets('run', 1)
const p2 = phaseTargets('run', 2)
let seq = 0
const incr = (target: string, answer: number | undefined, settledAtMs: number, outcome: Mutation['outcome'] = 'acknowledged'): Mutation =>
  ({ idempotencyKey: `k${seq++}`, kind: 'incr', target, by: 1, outcome, status: outcome === 'acknowledged' ? 200 : 503, answer, settledAtMs })
const kv = (target: string, answer: number, settledAtMs: number): Mutation =>
  ({ idempotencyKey: `k${seq++}`, kind: 'kv', target, valueJson: '1', outcome: 'acknowledged', status: 201, answer, settledAtMs })

t.test('sharedAnswers: two acknowledgements with one counter value mean one was thrown away', async (t) => {
  const a = incr(p1.counter, 5, 10)
  const b = incr(p1.counter, 5, 20)
  const c = incr(p1.counter, 6, 30)
  const unanswered = incr(p1.counter, undefined, 40)
  const failed = incr(p1.counter, 6, 50, 'failed')
  t.strictSame(sharedAnswers([a, b, c, unanswered, failed]), [a, b])
  t.strictSame(sharedAnswers([a, c]), [])
})

t.test('atRiskMutations: shared answers, the last ones before the fault, those a stale primary acknowledged; only the failover\'s phase', async (t) => {
  const before = Array.from({ length: REPLAYED_BEFORE_FAULT + 10 }, (_, i) => incr(p1.counter, i + 1, i))
  const shared = incr(p1.counter, 1, 5)
  const during = incr(p1.counter, 200, 1_050)
  const late = incr(p1.counter, 201, 5_000)
  const otherPhase = incr(p2.counter, 1, 1_050)
  const untimed = { ...incr(p1.counter, 300, 0), settledAtMs: undefined }
  const chosen = atRiskMutations([...before, shared, during, late, otherPhase, untimed], [{ phase: 1, faultAtMs: 1_000, untilMs: 2_000 }])
  t.ok(chosen.includes(shared) && chosen.includes(before[0]!), 'both holders of a shared answer')
  t.ok(before.slice(-REPLAYED_BEFORE_FAULT).every((m) => chosen.includes(m)), `the last ${REPLAYED_BEFORE_FAULT} before the fault`)
  t.notOk(chosen.includes(before[5]!), 'not the older ones')
  t.ok(chosen.includes(during), 'acknowledged between the fault and the first success')
  t.notOk(chosen.includes(late), 'not those after')
  t.notOk(chosen.includes(otherPhase), 'not another phase\'s')
  t.notOk(chosen.includes(untimed))
  t.strictSame(atRiskMutations(before, []), [])
})

t.test('phaseLoss: counters below acknowledged, kv versions behind, answers handed out twice, replays applied again', async (t) => {
  const ledger = new Ledger()
  const acked = [incr(p1.counter, 1, 1), incr(p1.counter, 2, 2), incr(p1.counter, 2, 3), incr(p1.counter, 3, 4)]
  for (const m of [...acked, incr(p1.counter, undefined, 5, 'indeterminate'), kv(p1.kvKeys[0]!, 2, 1), kv(p1.kvKeys[0]!, 3, 2), kv(p1.kvKeys[1]!, 2, 3), incr(p2.counter, 1, 1)]) ledger.add(m)
  const store = {
    // 3 applied of 4 acknowledged; and answer 2 handed out twice: at least 1 lost.
    counters: new Map([[p1.counter, 3], [p2.counter, 1]]),
    // key 0: version 2 over a base of 1 → 1 applied of 2 acknowledged; key 1 missing → 1 lost.
    kv: new Map([[p1.kvKeys[0]!, { version: 2, valueJson: '1' }], [p1.kvKeys[1]!, null]])
  }
  const replays = [
    { mutation: acked[0]!, status: 200, replayed: true, answer: 1 },
    { mutation: acked[1]!, status: 200, replayed: false, answer: 4 },
    { mutation: acked[2]!, status: 503, replayed: false, answer: undefined }
  ]
  t.strictSame(phaseLoss(ledger, 1, store, replays, 1), { acknowledged: 7, lost: 3, appliedAgain: 1, replayed: 3 })
  t.strictSame(phaseLoss(ledger, 2, store, replays, 1), { acknowledged: 1, lost: 0, appliedAgain: 0, replayed: 0 })
})

t.test('windowOf: from the first failed request (when it was sent) to the first success sent after it', async (t) => {
  const a = (sentAtMs: number, atMs: number, ok: boolean, write = true): StoreAnswer => ({ sentAtMs, atMs, ok, write, latencyMs: atMs - sentAtMs })
  const answers = [a(990, 1_010, true), a(1_100, 1_300, false), a(1_050, 1_900, false, false), a(1_200, 2_000, true, false), a(2_500, 2_600, true), a(2_700, 3_000, false)]
  t.strictSame(windowOf(answers, 1_000), { firstFailureSentAtMs: 1_050, firstSuccessAtMs: 2_000, firstWriteAtMs: 2_600, failures: 2, slowestFailureMs: 850 })
  t.strictSame(windowOf([a(900, 1_200, false)], 1_000).firstFailureSentAtMs, 1_000, 'sent before the fault: the outage begins at the fault')
  t.strictSame(windowOf([a(1_100, 1_150, true)], 1_000), { firstFailureSentAtMs: null, firstSuccessAtMs: 1_150, firstWriteAtMs: 1_150, failures: 0, slowestFailureMs: 0 }, 'nothing failed')
  t.strictSame(windowOf([a(1_100, 1_400, false)], 1_000), { firstFailureSentAtMs: 1_100, firstSuccessAtMs: null, firstWriteAtMs: null, failures: 1, slowestFailureMs: 300 }, 'never back')
})
