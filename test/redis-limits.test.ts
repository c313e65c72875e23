import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import { LEASE_SHARE } from '../src/lib/redis-budget.js'
import { LEASE_MAX } from '../src/lib/rate-limiter.js'
import { build, postJson, startTestRedis } from './helper.js'

// Redis as the hardened stack runs it (issue 15): bounded by maxmemory with
// noeviction, and reached as an ACL user allowed only the commands the service uses.

t.test('a full Redis (maxmemory + noeviction) refuses writes: fast 503s, nothing acknowledged is lost', async (t) => {
  const redis = await startTestRedis(t)
  const app = await build(t, { STORE: 'redis', REDIS_URL: redis.url })
  const admin = adminClient(t, redis.port)
  const used = Number(/used_memory:(\d+)/.exec(await admin.info('memory'))![1])
  await admin.config('SET', 'maxmemory-policy', 'noeviction')
  await admin.config('SET', 'maxmemory', String(used + 2 * 1024 * 1024))

  const value = 'x'.repeat(16 * 1024)
  const acknowledged: string[] = []
  const statuses = new Map<number, number>()
  for (let i = 0; i < 400; i++) {
    const res = await postJson(app, `/kv/fill-${i}`, { value }, { 'idempotency-key': `fill-${i}` })
    statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1)
    if (res.statusCode === 201) acknowledged.push(`fill-${i}`)
    else t.match(res.json(), { statusCode: 503, code: 'SL_STORE_UNAVAILABLE' }, `fill-${i}: the fast 503`)
  }
  t.ok(acknowledged.length > 10, `${acknowledged.length} writes fitted`)
  t.ok((statuses.get(503) ?? 0) > 0, `${statuses.get(503)} were refused`)
  t.strictSame([...statuses.keys()].sort(), [201, 503], 'never a 500')
  for (const key of acknowledged) {
    const read = await app.inject(`/kv/${key}`)
    if (read.statusCode !== 200 || read.json().value !== value) t.fail(`${key} was acknowledged but reads ${read.statusCode}`)
  }
  t.pass(`all ${acknowledged.length} acknowledged writes read back`)
  // Over the bound for sure: a refused write's 16 KB buffer is freed once refused, so
  // the fill can leave Redis just under it (with latency-tracking off nothing else grows).
  const now = Number(/used_memory:(\d+)/.exec(await admin.info('memory'))![1])
  await admin.config('SET', 'maxmemory', String(now - 1024 * 1024))
  t.equal((await postJson(app, '/counters/c/incr', {})).statusCode, 503, 'counters too')
  t.equal((await app.inject('/health/ready')).statusCode, 200, 'reads still work, so the instance stays ready')
  t.equal((await app.inject('/')).statusCode, 200, 'the rate limit fails open instead of failing the request')
})

t.test('a full Redis still counts the cluster rate limit: the flood that filled it gets 429s, not a limit that fails open', async (t) => {
  const redis = await startTestRedis(t)
  const app = await build(t, { STORE: 'redis', REDIS_URL: redis.url, RATE_LIMIT_MAX: '3', RATE_LIMIT_WINDOW_MS: '60000' })
  const admin = adminClient(t, redis.port)
  const used = Number(/used_memory:(\d+)/.exec(await admin.info('memory'))![1])
  await admin.config('SET', 'maxmemory-policy', 'noeviction')
  await admin.config('SET', 'maxmemory', String(used + 64 * 1024))
  // Full: a write of the data is refused (from another client, which has its own budget).
  let refused = 0
  for (let i = 0; i < 40 && refused === 0; i++) {
    const res = await app.inject({ method: 'POST', url: `/kv/fill-${i}`, payload: { value: 'x'.repeat(16 * 1024) }, headers: { 'idempotency-key': `fill-${i}`, 'x-forwarded-for': `198.51.100.${i + 1}` } })
    if (res.statusCode === 503) refused++
  }
  t.equal(refused, 1, 'the store is full: a data write got the fast 503')
  const statuses = []
  for (let i = 0; i < 4; i++) statuses.push((await app.inject({ url: '/', remoteAddress: '127.0.0.2' })).statusCode)
  t.strictSame(statuses, [200, 200, 200, 429], 'the budget is still counted in the full store')
})

/** The Redis commands the service sends, as an ACL rule (docs/hardening.md lists the same). */
const SERVICE_ACL = [
  'on', '>s3cret-for-tests', 'resetkeys', '~sl:*', 'resetchannels', '-@all',
  '+auth', '+hello', '+ping', '+info', '+quit',
  '+evalsha', '+eval', '+hmget', '+get', '+hincrby', '+hset', '+set', '+incrby', '+pttl'
]

t.test('an ACL user limited to the service’s commands and keys is enough, and holds nothing more', async (t) => {
  const redis = await startTestRedis(t)
  const admin = adminClient(t, redis.port)
  t.equal(await admin.call('ACL', 'SETUSER', 'scale-lab', ...SERVICE_ACL), 'OK')
  const app = await build(t, { STORE: 'redis', REDIS_URL: `redis://scale-lab:s3cret-for-tests@127.0.0.1:${redis.port}`, RATE_LIMIT_MAX: '1000' })
  t.equal((await app.inject('/health/ready')).statusCode, 200)
  t.equal((await app.inject('/kv/k')).statusCode, 404)
  t.equal((await postJson(app, '/kv/k', { value: 1 }, { 'idempotency-key': 'acl-1' })).statusCode, 201)
  t.equal((await postJson(app, '/kv/k', { value: 1 }, { 'idempotency-key': 'acl-1' })).headers['idempotent-replay'], 'true')
  t.equal((await postJson(app, '/kv/k', { value: 2 })).statusCode, 200)
  t.equal((await app.inject('/kv/k')).json().version, 2)
  t.equal((await postJson(app, '/counters/c/incr', { by: 2 }, { 'x-request-id': 'r1' })).json().value, 2)
  t.equal((await app.inject('/counters/c')).json().value, 2)
  const firstLease = Math.min(LEASE_MAX, Math.floor(1000 / LEASE_SHARE))
  t.equal(await admin.get('sl:rl:127.0.0.1'), String(firstLease), "the rate limit leased this client's requests from Redis")
  // Redis flushes its script cache on SCRIPT FLUSH (and on a restart): EVALSHA → NOSCRIPT → EVAL.
  await admin.script('FLUSH')
  t.equal((await postJson(app, '/counters/c/incr', {})).json().value, 3, 'the EVAL fallback is allowed too')

  for (const [command, ...args] of [['FLUSHALL'], ['CONFIG', 'GET', 'maxmemory'], ['KEYS', '*'], ['DEL', 'sl:ctr:c'], ['GET', 'other:key'], ['SHUTDOWN']]) {
    const answer = await admin.call('ACL', 'DRYRUN', 'scale-lab', command!, ...args)
    t.match(answer, /no permissions/, `${command} is refused to the service's user`)
  }
})

/** A client with full rights, to configure the test's Redis as an operator would. */
function adminClient (t: Test, port: number): Redis {
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: false })
  t.teardown(() => client.disconnect())
  return client
}
