import { Writable } from 'node:stream'
import t from 'tap'
import { clientKey } from '../src/lib/rate-limiter.js'
import { build, startTestRedis } from './helper.js'

// A per-client rate limit (issue 15). On Redis it is one budget for the whole
// cluster; on the memory store (or RATE_LIMIT_STORE=instance) each instance counts
// alone, so behind N instances a client gets N times the budget: the lesson.

const redis = await startTestRedis(t)
const limited = { RATE_LIMIT_MAX: '3', RATE_LIMIT_WINDOW_MS: '60000' }
const attacker = { remoteAddress: '127.0.0.2' }

t.beforeEach(() => redis.flush())

t.test('RATE_LIMIT_MAX requests per window and client, then 429 SL_RATE_LIMITED with Retry-After', async (t) => {
  const app = await build(t, { STORE: 'redis', REDIS_URL: redis.url, ...limited })
  for (let i = 0; i < 3; i++) {
    t.equal((await app.inject({ url: '/kv/k', ...attacker })).statusCode, 404, `request ${i + 1} is served`)
  }
  const refused = await app.inject({ url: '/kv/k', ...attacker })
  t.equal(refused.statusCode, 429)
  t.equal(refused.headers['x-instance'], 'test-1')
  t.ok(Number(refused.headers['retry-after']) > 0 && Number(refused.headers['retry-after']) <= 60, `Retry-After ${refused.headers['retry-after']}`)
  t.match(refused.json(), { statusCode: 429, code: 'SL_RATE_LIMITED', error: 'Too Many Requests', message: /^Too many requests from this client; retry in \d+ s$/ })
  t.equal((await app.inject({ method: 'POST', url: '/counters/c/incr', ...attacker })).statusCode, 429, 'every route counts')

  t.equal((await app.inject('/kv/k')).statusCode, 404, 'another client has its own budget')
  for (const url of ['/health/live', '/health/ready']) {
    t.equal((await app.inject({ url, ...attacker })).statusCode, 200, `${url} is never limited`)
  }
})

t.test('behind the balancer the client is the address it forwards, never the balancer itself', async (t) => {
  const app = await build(t, { STORE: 'redis', REDIS_URL: redis.url, ...limited })
  const from = (address: string) => app.inject({ url: '/', headers: { 'x-forwarded-for': address } })
  for (let i = 0; i < 3; i++) await from('198.51.100.1')
  t.equal((await from('198.51.100.1')).statusCode, 429)
  t.equal((await from('198.51.100.2')).statusCode, 200)
})

t.test('on Redis the budget is one for the cluster: two instances share it', async (t) => {
  const config = { STORE: 'redis', REDIS_URL: redis.url, ...limited }
  const one = await build(t, { ...config, INSTANCE_ID: 'one' })
  const two = await build(t, { ...config, INSTANCE_ID: 'two' })
  const statuses = []
  for (const app of [one, two, one, two]) statuses.push((await app.inject({ url: '/', ...attacker })).statusCode)
  t.strictSame(statuses, [200, 200, 200, 429])
})

t.test('counted per instance (memory store, or RATE_LIMIT_STORE=instance): N instances, N times the budget', async (t) => {
  for (const config of [{ STORE: 'memory' }, { STORE: 'redis', REDIS_URL: redis.url, RATE_LIMIT_STORE: 'instance' }]) {
    const one = await build(t, { ...config, ...limited, INSTANCE_ID: 'one' })
    const two = await build(t, { ...config, ...limited, INSTANCE_ID: 'two' })
    const statuses = []
    for (const app of [one, two, one, two, one, two, one, two]) statuses.push((await app.inject({ url: '/', ...attacker })).statusCode)
    t.strictSame(statuses, [200, 200, 200, 200, 200, 200, 429, 429], JSON.stringify(config))
  }
})

t.test('RATE_LIMIT_MAX=0 turns it off', async (t) => {
  const app = await build(t, { STORE: 'redis', REDIS_URL: redis.url, RATE_LIMIT_MAX: '0' })
  const answers = await Promise.all(Array.from({ length: 20 }, () => app.inject({ url: '/', ...attacker })))
  t.ok(answers.every((r) => r.statusCode === 200))
})

t.test('a Redis that fails never blocks a request: the limit fails open, and says so once', async (t) => {
  const own = await startTestRedis(t)
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _enc, done) { lines.push(String(chunk)); done() } })
  const app = await build(t, { STORE: 'redis', REDIS_URL: own.url, ...limited }, { logger: { level: 'warn', stream } })
  t.equal((await app.inject('/')).statusCode, 200)
  await own.stop()
  for (let i = 0; i < 6; i++) {
    t.equal((await app.inject({ url: '/', ...attacker })).statusCode, 200, `request ${i + 1} with Redis down`)
  }
  t.equal((await app.inject({ url: '/kv/k', ...attacker })).statusCode, 503, 'a route that needs the store still says so')
  const warnings = lines.filter((l) => l.includes('rate limit'))
  t.equal(warnings.length, 1, 'one warning, not one per request')
  t.match(warnings[0], /rate limit store unavailable: letting requests through/)
})

t.test('a client is its address; an IPv6 client is its /64', async (t) => {
  t.equal(clientKey('198.51.100.7'), '198.51.100.7')
  t.equal(clientKey('::ffff:198.51.100.7'), '198.51.100.7', 'IPv4 mapped into IPv6 is the IPv4 address')
  t.equal(clientKey('2001:db8:1:2:3:4:5:6'), '2001:db8:1:2::/64')
  t.equal(clientKey('2001:db8:1:2::9'), '2001:db8:1:2::/64', 'two addresses of one /64 are one client')
  t.equal(clientKey('2001:0db8::1'), '2001:db8:0:0::/64')
  t.equal(clientKey('::1'), '0:0:0:0::/64')
  t.equal(clientKey('fe80::1%eth0'), 'fe80:0:0:0::/64')
})
