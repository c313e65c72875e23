import t from 'tap'
import { auditLedger, auditReplays, type Replay, type StoreReadback } from '../../src/lab/audit/audit.js'
import { Ledger, type Mutation } from '../../src/lab/audit/ledger.js'
import { outcomeOfAnswer } from '../../src/lab/audit/outcome.js'
import { STORE_RETRY_BOUND_MS, worthRetrying } from '../../src/lab/audit/readback.js'

// The write audit's classification and rules, on hand-made outcomes.

t.test('outcomes: 2xx acknowledged, 4xx failed, every 5xx indeterminate', async (t) => {
  for (const status of [200, 201, 204]) t.equal(outcomeOfAnswer(status), 'acknowledged', String(status))
  for (const status of [400, 404, 409, 413, 422]) t.equal(outcomeOfAnswer(status), 'failed', String(status))
  // A 503 proves nothing behind a retrying balancer: an earlier try may have applied it.
  for (const status of [500, 502, 503, 504]) t.equal(outcomeOfAnswer(status), 'indeterminate', String(status))
  t.equal(outcomeOfAnswer(301), 'indeterminate', 'anything unexpected is not taken as proof')
})

let seq = 0
function incr (outcome: Mutation['outcome'], counter = 'c', by = 1, answer?: number): Mutation {
  return { idempotencyKey: `k${++seq}`, kind: 'incr', target: counter, by, outcome, answer }
}
function kv (key: string, outcome: Mutation['outcome'], answer?: number, valueJson = `"v${seq}"`): Mutation {
  return { idempotencyKey: `k${++seq}`, kind: 'kv', target: key, valueJson, outcome, answer }
}
function ledgerOf (...mutations: Mutation[]): Ledger {
  const ledger = new Ledger()
  for (const m of mutations) ledger.add(m)
  return ledger
}
function store (counters: Record<string, number>, kvs: Record<string, { version: number, valueJson: string } | null> = {}, unreadable: Record<string, string> = {}): StoreReadback {
  return { counters: new Map(Object.entries(counters)), kv: new Map(Object.entries(kvs)), unreadable: new Map(Object.entries(unreadable)) }
}
const rule = (result: ReturnType<typeof auditLedger>, prefix: string) => result.rules.find((r) => r.name.startsWith(prefix))!

t.test('all acknowledged and applied once: every rule passes, strict too', async (t) => {
  const ledger = ledgerOf(incr('acknowledged'), incr('acknowledged'), incr('acknowledged', 'c', 5))
  const result = auditLedger(ledger, store({ c: 7 }))
  t.match(result, { acknowledged: 3, failed: 0, indeterminate: 0 })
  t.ok(result.rules.every((r) => r.pass), JSON.stringify(result.rules))
})

t.test('a lost acknowledged increment fails the lower bound', async (t) => {
  const result = auditLedger(ledgerOf(incr('acknowledged'), incr('acknowledged')), store({ c: 1 }))
  t.notOk(rule(result, 'counters').pass)
  t.match(rule(result, 'counters').detail, /1 acknowledged increment\(s\) lost/)
  t.notOk(rule(result, 'strict').pass)
})

t.test('an increment applied twice (or never sent) breaks the upper bound', async (t) => {
  const result = auditLedger(ledgerOf(incr('acknowledged'), incr('failed')), store({ c: 2 }))
  t.notOk(rule(result, 'counters').pass)
  t.match(rule(result, 'counters').detail, /1 increment\(s\) applied that no request accounts for/)
})

t.test('indeterminate mutations widen the bounds but fail the strict goal', async (t) => {
  const ledger = ledgerOf(incr('acknowledged'), incr('indeterminate'), incr(undefined)) // no answer at all: indeterminate
  t.match(ledger.counts(), { acknowledged: 1, indeterminate: 2, failed: 0 })
  for (const applied of [1, 2, 3]) {
    const result = auditLedger(ledger, store({ c: applied }))
    t.ok(rule(result, 'counters').pass, `applied ${applied} is within [1, 3]`)
    t.match(rule(result, 'counters').detail, `${applied - 1} of 2 indeterminate increment(s) of c were applied`, 'says how many the client could not know about')
    t.notOk(rule(result, 'strict').pass, 'strict needs no indeterminate mutation')
  }
  t.notOk(rule(auditLedger(ledger, store({ c: 4 })), 'counters').pass, 'applied 4 > 1 + 2')
  t.notOk(rule(auditLedger(ledger, store({ c: 0 })), 'counters').pass, 'applied 0 < 1')
})

t.test('failed mutations count for nothing, and strict fails on them', async (t) => {
  const result = auditLedger(ledgerOf(incr('acknowledged'), incr('failed')), store({ c: 1 }))
  t.ok(rule(result, 'counters').pass)
  t.notOk(rule(result, 'strict').pass)
  t.match(rule(result, 'strict').detail, /1 failed/)
})

t.test('counters are measured from their base value', async (t) => {
  t.ok(rule(auditLedger(ledgerOf(incr('acknowledged')), store({ c: 11 }), { counterBase: 10 }), 'counters').pass)
})

t.test('kv: acknowledged writes readable at a version ≥ the acknowledged one, with their value', async (t) => {
  const a1 = kv('a', 'acknowledged', 2, '"one"')
  const a2 = kv('a', 'acknowledged', 3, '"two"')
  const ok = auditLedger(ledgerOf(a1, a2), store({}, { a: { version: 3, valueJson: '"two"' } }), { kvBaseVersion: 1 })
  t.ok(ok.rules.every((r) => r.pass), JSON.stringify(ok.rules))

  const missing = auditLedger(ledgerOf(a1), store({}, { a: null }), { kvBaseVersion: 1 })
  t.match(rule(missing, 'kv').detail, /missing although 1 write/)
  const stale = auditLedger(ledgerOf(a1, a2), store({}, { a: { version: 2, valueJson: '"one"' } }), { kvBaseVersion: 1 })
  t.match(rule(stale, 'kv').detail, /version 2 < acknowledged 3/)
  const wrong = auditLedger(ledgerOf(a1, a2), store({}, { a: { version: 3, valueJson: '"other"' } }), { kvBaseVersion: 1 })
  t.match(rule(wrong, 'kv').detail, /holds another value/)
  const extra = auditLedger(ledgerOf(a1, a2), store({}, { a: { version: 5, valueJson: '"x"' } }), { kvBaseVersion: 1 })
  t.match(rule(extra, 'kv').detail, /4 write\(s\) applied, outside \[2, 2\]/)
  const maybe = ledgerOf(kv('c', 'acknowledged', 2, '"x"'), kv('c', 'indeterminate'))
  const appliedToo = auditLedger(maybe, store({}, { c: { version: 3, valueJson: '"y"' } }), { kvBaseVersion: 1 })
  t.ok(rule(appliedToo, 'kv').pass, 'an indeterminate write that was applied stays within bounds')
  t.notOk(rule(appliedToo, 'strict').pass, 'but the strict goal fails on it')
  const unacked = auditLedger(ledgerOf(kv('b', 'indeterminate')), store({}, { b: null }))
  t.ok(rule(unacked, 'kv').pass, 'a missing key nobody was promised is fine')
})

t.test('replays: acknowledged mutations must come back as replays with their first answer, changing nothing', async (t) => {
  const m = incr('acknowledged', 'c', 1, 5)
  const good: Replay[] = [{ mutation: m, status: 200, replayed: true, answer: 5 }]
  t.ok(auditReplays(good, new Map([['c', 9]]), new Map([['c', 9]])).pass)
  const reapplied = auditReplays([{ mutation: m, status: 200, replayed: false, answer: 10 }], new Map([['c', 9]]), new Map([['c', 10]]))
  t.notOk(reapplied.pass)
  t.match(reapplied.detail, /1 of 1 were applied again[\s\S]*moved from 9 to 10/)
  const refused = auditReplays([{ mutation: m, status: 503, replayed: false, answer: undefined }], new Map(), new Map())
  t.match(refused.detail, /1 of 1 were not replayed \(status 503\)/)
  t.notOk(refused.pass)
  const otherAnswer = auditReplays([{ mutation: m, status: 200, replayed: true, answer: 6 }], new Map(), new Map())
  t.match(otherAnswer.detail, /answered differently/)
  t.ok(auditReplays([], new Map(), new Map()).pass, 'nothing to replay is not a failure')
})

t.test('read-back: a counter or key never read is a finding of its own, not a loss, and fails strict', async (t) => {
  const ledger = ledgerOf(incr('acknowledged', 'c'), incr('acknowledged', 'd'), kv('a', 'acknowledged', 1), kv('b', 'acknowledged', 1))
  const all = auditLedger(ledger, store({ c: 1, d: 1 }, { a: { version: 1, valueJson: '"x"' }, b: { version: 1, valueJson: ledger.mutations.get(`k${seq}`)!.valueJson! } }))
  t.ok(rule(all, 'read-back').pass)
  t.equal(rule(all, 'read-back').detail, '4 read')

  const unread = auditLedger(ledger, store({ c: 1 }, { b: { version: 1, valueJson: ledger.mutations.get(`k${seq}`)!.valueJson! } }, {
    d: 'reading counter d: HTTP 503 SL_STORE_UNAVAILABLE',
    a: 'reading a: HTTP 503 SL_STORE_UNAVAILABLE'
  }))
  t.notOk(rule(unread, 'read-back').pass)
  t.match(rule(unread, 'read-back').detail, /^2 never read, so not audited: reading counter d: HTTP 503 SL_STORE_UNAVAILABLE; reading a/)
  t.ok(rule(unread, 'counters').pass, 'd, unread, is not counted as lost')
  t.equal(rule(unread, 'counters').detail, '1 counter(s) within bounds')
  t.ok(rule(unread, 'kv').pass, 'a, unread, is not called missing')
  t.equal(rule(unread, 'kv').detail, '1 key(s) consistent')
  t.notOk(rule(unread, 'strict').pass, 'nothing unread can be called applied exactly once')
  t.match(rule(unread, 'strict').detail, /2 not read back/)
})

t.test("the read-back waits out only the store's 503, within its deadline", async (t) => {
  const unavailable = { status: 503, body: { statusCode: 503, code: 'SL_STORE_UNAVAILABLE' } }
  t.ok(worthRetrying(unavailable, 0, STORE_RETRY_BOUND_MS), 'the store is coming back: try again')
  t.notOk(worthRetrying(unavailable, STORE_RETRY_BOUND_MS - 50, STORE_RETRY_BOUND_MS), 'no time left for another try: that answer stands')
  t.notOk(worthRetrying({ status: 503, body: { code: 'SL_OVERLOADED' } }, 0, STORE_RETRY_BOUND_MS), 'shed work is not the store coming back')
  t.notOk(worthRetrying({ status: 503, body: null }, 0, STORE_RETRY_BOUND_MS), "nginx's own 503 (no JSON) is not either")
  t.notOk(worthRetrying({ status: 500, body: { code: 'SL_STORE_UNAVAILABLE' } }, 0, STORE_RETRY_BOUND_MS), 'only with a 503')
  for (const status of [200, 404]) t.notOk(worthRetrying({ status, body: {} }, 0, STORE_RETRY_BOUND_MS), `${status} is the answer`)
})

t.test('replays: a counter not read again after them is named, not taken for 0', async (t) => {
  const m = incr('acknowledged', 'c', 1, 5)
  const result = auditReplays([{ mutation: m, status: 200, replayed: true, answer: 5 }], new Map([['c', 9]]), new Map())
  t.notOk(result.pass)
  t.equal(result.detail, 'c could not be read again after the replays')
})
