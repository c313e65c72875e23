// The Redis drills' view of a store outage, from hand-made answers: recovery is
// judged per instance, so one instance left behind cannot hide behind the others.
import t from 'tap'
import { storeOutage } from '../../src/lab/drills/redis.js'
import type { FaultContext } from '../../src/lab/drills/run-drill.js'
import type { Observation, Traffic } from '../../src/lab/drills/traffic.js'

const marks: string[] = []
const context = { mark: (type: string, _target?: string, detail?: string) => { marks.push(`${type}: ${detail}`) } } as unknown as FaultContext
const answer = (atMs: number, instance: string | undefined, status: number, latencyMs = 5, operation: Observation['operation'] = 'kvGet'): Observation =>
  ({ atMs, operation, status, instance, upstream: undefined, latencyMs })
const traffic = { failureLatenciesMs: [10, 20], summary: { errors: { total: 2, byKind: { 'non2xx:503': 2 } } } } as unknown as Traffic
const row = (checks: ReturnType<ReturnType<typeof storeOutage>['checks']>, prefix: string) => checks.find((c) => c.name.startsWith(prefix))!

t.test('every instance back soon after Redis answers: both recovery rows pass, with the late 503s counted', async (t) => {
  const outage = storeOutage({ failureP99BoundMs: 200, recoveryBoundMs: 1000 })
  outage.observe(answer(900, 'api-1', 503), context) // before Redis answered: not the tail
  outage.up(1000)
  outage.observe(answer(1010, 'api-1', 503, 20), context) // sent before, answered after: a late 503
  outage.observe(answer(1020, 'api-1', 200, 30), context) // sent before Redis answered: proves nothing
  outage.observe(answer(1050, 'api-1', 200), context)
  outage.observe(answer(1100, 'api-2', 200), context)
  outage.observe(answer(1040, 'api-2', 200, 5, 'root'), context) // GET / needs no store
  const checks = outage.checks(traffic)
  t.ok(row(checks, 'recovery: first').pass)
  t.equal(row(checks, 'recovery: first').actual, '50 ms')
  t.ok(row(checks, 'recovery: every').pass)
  t.equal(row(checks, 'recovery: every').actual, 'slowest api-2 100 ms; 1 503s after Redis answered')
  t.strictSame(outage.instances(), [
    { instance: 'api-1', 'first store 2xx after Redis answered, ms': 50, '503s after Redis answered': 1 },
    { instance: 'api-2', 'first store 2xx after Redis answered, ms': 100, '503s after Redis answered': 0 }
  ])
  t.match(marks, ['first-2xx: 50 ms after Redis answered'])
})

t.test('one instance still answering 503 (reconnecting) fails the per-instance row, not the first', async (t) => {
  const outage = storeOutage({ failureP99BoundMs: 200, recoveryBoundMs: 1000 })
  outage.up(0)
  outage.observe(answer(30, 'api-1', 200), context)
  for (let at = 10; at < 6000; at += 100) outage.observe(answer(at, 'api-3', 503), context)
  outage.observe(answer(40, undefined, 200), context) // no instance header: counted for the first 2xx only
  const checks = outage.checks(traffic)
  t.ok(row(checks, 'recovery: first').pass, 'three back hide the fourth from this row')
  t.notOk(row(checks, 'recovery: every').pass)
  t.equal(row(checks, 'recovery: every').actual, 'api-3 never (of 2)')
  t.match(outage.instances(), [{ instance: 'api-1' }, { instance: 'api-3', 'first store 2xx after Redis answered, ms': null, '503s after Redis answered': 60 }])

  const slow = storeOutage({ failureP99BoundMs: 200, recoveryBoundMs: 1000 })
  slow.up(0)
  slow.observe(answer(20, 'api-1', 200), context)
  slow.observe(answer(1800, 'api-2', 200), context)
  t.notOk(row(slow.checks(traffic), 'recovery: every').pass, 'back, but after the bound')
  t.equal(row(slow.checks(traffic), 'recovery: every').actual, 'slowest api-2 1800 ms; 0 503s after Redis answered')
})

t.test('Redis never answered again, or no store answer came after: no instance recovered', async (t) => {
  const outage = storeOutage({ failureP99BoundMs: 200, recoveryBoundMs: 1000 })
  outage.observe(answer(10, 'api-1', 200), context)
  const checks = outage.checks(traffic)
  t.equal(row(checks, 'recovery: first').actual, 'never')
  t.notOk(row(checks, 'recovery: every').pass)
  t.equal(row(checks, 'recovery: every').actual, 'no instance answered')
  t.strictSame(outage.instances(), [])
})
