import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { readBack } from '../src/lab/audit/readback.js'
import { Ledger } from '../src/lab/audit/ledger.js'
import { freePort } from '../src/lab/system/ports.js'
import { waitFor } from '../src/lab/system/process.js'
import { withRedis } from '../src/lab/system/redis-client.js'
import { redisServerSpec } from '../src/lab/system/redis-server.js'
import { build, postJson, startTestRedis, testSupervisor } from './helper.js'

// A store that is down must cost a request a fast 503, never a hang or a crash,
// and the app must come back by itself when Redis does. The time bounds below
// catch a hang (the command timeout is 400 ms); they are not performance targets.
const HANG = 1500

t.test('Redis stopped mid-test: fast 503s and ready=503; restarted: recovers without an app restart', async (t) => {
  const redis = await startTestRedis(t)
  const app = await build(t, { STORE: 'redis', REDIS_URL: redis.url })
  t.equal((await postJson(app, '/counters/c/incr', {})).statusCode, 200)

  await redis.stop()
  for (const request of [
    () => app.inject('/kv/k'),
    () => postJson(app, '/kv/k', { value: 1 }),
    () => app.inject('/counters/c'),
    () => postJson(app, '/counters/c/incr', {}, { 'idempotency-key': 'during-outage' }),
    () => app.inject('/health/ready')
  ]) {
    const started = performance.now()
    const res = await request()
    const elapsed = performance.now() - started
    t.equal(res.statusCode, 503, `${res.raw.req.method} ${res.raw.req.url} → 503`)
    t.ok(elapsed < HANG, `answered in ${elapsed.toFixed(0)} ms`)
    t.equal(res.headers['x-instance'], 'test-1')
  }
  const down = await app.inject('/kv/k')
  t.match(down.json(), { statusCode: 503, code: 'SL_STORE_UNAVAILABLE', message: 'The store did not answer; retry (a POST with the same Idempotency-Key)' })
  t.match((await app.inject('/health/ready')).json(), { status: 'unavailable', store: 'redis' })
  t.equal((await app.inject('/')).statusCode, 200, 'routes that need no store still answer')
  t.equal((await app.inject('/health/live')).statusCode, 200, 'and the process is live')

  await redis.start()
  await waitFor('ready again', async () => (await app.inject('/health/ready')).statusCode === 200, 10_000)
  const after = await postJson(app, '/counters/c/incr', {}, { 'idempotency-key': 'after-outage' })
  t.equal(after.statusCode, 200, 'writes work again on the same app')
  // The increment refused during the outage, retried with its key, applies now: once.
  const retried = await postJson(app, '/counters/c/incr', {}, { 'idempotency-key': 'during-outage' })
  t.equal(retried.statusCode, 200)
  t.notOk(retried.headers['idempotent-replay'], 'it had not been applied')
  t.equal((await postJson(app, '/counters/c/incr', {}, { 'idempotency-key': 'during-outage' })).headers['idempotent-replay'], 'true')
})

t.test('a Redis that stops answering (paused, not gone) costs a bounded 503, not a hang', async (t) => {
  const redis = await startTestRedis(t)
  const app = await build(t, { STORE: 'redis', REDIS_URL: redis.url })
  t.equal((await postJson(app, '/counters/c/incr', {})).statusCode, 200)
  const pid = redis.pid()!
  process.kill(pid, 'SIGSTOP')
  t.teardown(() => { try { process.kill(pid, 'SIGCONT') } catch {} })
  for (let i = 0; i < 3; i++) {
    const started = performance.now()
    const res = await app.inject('/counters/c')
    const elapsed = performance.now() - started
    t.equal(res.statusCode, 503, `request ${i + 1} → 503`)
    t.ok(elapsed < HANG, `answered in ${elapsed.toFixed(0)} ms (command timeout 400 ms)`)
  }
  process.kill(pid, 'SIGCONT')
  await waitFor('ready after the pause', async () => (await app.inject('/health/ready')).statusCode === 200, 10_000)
  t.equal((await app.inject('/counters/c')).json().value, 1)
})

t.test('the app starts while Redis is down, then becomes ready when it comes up', async (t) => {
  const redis = await startTestRedis(t, { start: false })
  const app = await build(t, { STORE: 'redis', REDIS_URL: redis.url }, { redisConnectWaitMs: 100 })
  t.equal((await app.inject('/health/ready')).statusCode, 503)
  t.equal((await app.inject('/counters/c')).statusCode, 503)
  t.equal((await app.inject('/')).statusCode, 200)

  await redis.start()
  await waitFor('ready once Redis is up', async () => (await app.inject('/health/ready')).statusCode === 200, 10_000)
  t.equal((await postJson(app, '/counters/c/incr', {})).json().value, 1)
})

t.test('Redis restarted on an AOF that takes seconds to replay: the app is ready within moments of the replay\'s end', async (t) => {
  const port = await freePort()
  const { supervisor, dir } = testSupervisor(t, 'scale-lab-redis-loading-')
  const spec = redisServerSpec({ port, dir, appendonly: true })
  await supervisor.start(spec)
  // An AOF whose replay is slow where Redis's progress estimate is worst: 1,000 keys in
  // its RDB base, replayed 1 ms apiece (key-load-delay, Redis's own test knob), then
  // 5 MB of commands. Early in the replay Redis's loading_eta_seconds is far over the
  // truth, and a client waiting that long (ioredis's default, up to 10 s) stayed
  // unavailable long after Redis answered (docs/lab.md, the redis drill).
  await withRedis(port, async (redis) => {
    const keys = redis.pipeline()
    for (let i = 0; i < 1000; i++) keys.set(`seed:${i}`, i)
    await keys.exec()
    await redis.bgrewriteaof()
    while (/aof_rewrite_in_progress:1|aof_rewrite_scheduled:1/.test(await redis.info('persistence'))) await sleep(50)
    for (let i = 0; i < 50; i++) await redis.set('bulk', 'x'.repeat(100_000) + i)
  }, 5000)
  const app = await build(t, { STORE: 'redis', REDIS_URL: `redis://127.0.0.1:${port}` })
  t.equal((await postJson(app, '/counters/c/incr', {})).statusCode, 200)

  await supervisor.stop()
  const loading = performance.now()
  // Resolves once Redis answers PING: the replay is over.
  await supervisor.start({ ...spec, args: [...spec.args, '--key-load-delay', '1000', '--loading-process-events-interval-bytes', '1024'] })
  const answered = performance.now()
  t.ok(answered - loading > 1000, `the replay took ${Math.round(answered - loading)} ms: the app reconnected while Redis was loading`)
  await waitFor('ready again', async () => (await app.inject('/health/ready')).statusCode === 200, 15_000)
  // A bound that catches waiting on Redis's estimate (at least 1 s a time), not a performance target.
  const readyAfter = performance.now() - answered
  t.ok(readyAfter < 1000, `ready ${Math.round(readyAfter)} ms after Redis answered (it rechecks every 100 ms)`)
  t.equal((await app.inject('/counters/c')).json().value, 1, 'the AOF was replayed')
})

t.test("the audit's read-back waits out the store's 503s, and names what it never read", async (t) => {
  const redis = await startTestRedis(t)
  const app = await build(t, { STORE: 'redis', REDIS_URL: redis.url })
  t.equal((await postJson(app, '/counters/c/incr', {})).statusCode, 200)
  t.equal((await postJson(app, '/kv/k', { value: 'v' })).statusCode, 201)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
  const ledger = new Ledger()
  ledger.add({ idempotencyKey: 'i1', kind: 'incr', target: 'c', outcome: 'acknowledged' })
  ledger.add({ idempotencyKey: 'i2', kind: 'kv', target: 'k', valueJson: '"v"', outcome: 'acknowledged' })

  // Paused, not stopped: the test's Redis keeps no AOF, and what it holds must be there after.
  const pid = redis.pid()!
  process.kill(pid, 'SIGSTOP')
  t.teardown(() => { try { process.kill(pid, 'SIGCONT') } catch {} })
  const never = await readBack(base, ledger, 300)
  t.strictSame([...never.unreadable!.entries()], [
    ['c', 'reading counter c: HTTP 503 SL_STORE_UNAVAILABLE'],
    ['k', 'reading k: HTTP 503 SL_STORE_UNAVAILABLE']
  ], 'a store that stays away: named, not thrown')

  const back = sleep(600).then(() => process.kill(pid, 'SIGCONT'))
  const waited = await readBack(base, ledger)
  await back
  t.equal(waited.unreadable!.size, 0, 'Redis back within the bound: every read waited it out')
  t.equal(waited.counters.get('c'), 1)
  t.match(waited.kv.get('k'), { version: 1, valueJson: '"v"' })

  const unreachable = await readBack('http://127.0.0.1:1', ledger, 300)
  t.match(unreachable.unreadable!.get('c'), /fetch failed/, 'no answer at all: named too')
})
