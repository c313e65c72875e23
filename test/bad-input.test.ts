import t from 'tap'
import type { InjectOptions } from 'fastify'
import { build, startTestRedis } from './helper.js'

// Nothing a client sends may yield a 5xx: each malformed request gets a 4xx with
// a JSON error body (and x-instance), and the app keeps serving afterwards.

const json = { 'content-type': 'application/json' }
const longKey = 'k'.repeat(129)
const nested = (depth: number) => '{"value":' + '['.repeat(depth) + ']'.repeat(depth) + '}'
/** A POST with a JSON content-type unless `headers` says otherwise: what varies from case to case is the body. */
const post = (url: string, payload: string, headers: Record<string, string | string[]> = {}): InjectOptions => ({ method: 'POST', url, headers: { ...json, ...headers }, payload })

// Every expected status is a 4xx (checked below): the table itself keeps the rule.
const cases: Array<[string, InjectOptions, number]> = [
  ['key too long (129)', { url: `/kv/${longKey}` }, 400],
  ['key far too long (2000)', { url: `/kv/${'k'.repeat(2000)}` }, 414],
  ['key with a space', { url: '/kv/a%20b' }, 400],
  ['key with an encoded slash', { url: '/kv/a%2Fb' }, 400],
  ['key with a non-ASCII letter', { url: '/kv/caf%C3%A9' }, 400],
  ['key with bad percent-encoding', { url: '/kv/%zz' }, 400],
  ['key with a quote', { url: '/kv/a%22b' }, 400],
  ['counter name with a star', { url: '/counters/a*b' }, 400],
  ['write to a key too long', post(`/kv/${longKey}`, '{"value":1}'), 400],
  ['malformed JSON', post('/kv/k', '{"value":'), 400],
  ['JSON null body', post('/kv/k', 'null'), 400],
  ['JSON array body', post('/kv/k', '[1]'), 400],
  ['JSON string body', post('/kv/k', '"value"'), 400],
  ['missing value', post('/kv/k', '{}'), 400],
  ['unknown field beside value', post('/kv/k', '{"value":1,"ttl":5}'), 400],
  ['empty body with a JSON content-type', post('/kv/k', ''), 400],
  ['body over 64 KiB', post('/kv/k', JSON.stringify({ value: 'x'.repeat(64 * 1024) })), 413],
  ['text/plain body (parsed as a string, not an object)', post('/kv/k', 'value=1', { 'content-type': 'text/plain' }), 400],
  ['form body', post('/kv/k', 'value=1', { 'content-type': 'application/x-www-form-urlencoded' }), 415],
  ['__proto__ in the body', post('/kv/k', '{"value":1,"__proto__":{"admin":true}}'), 400],
  ['constructor.prototype in the body', post('/kv/k', '{"value":{"constructor":{"prototype":{"x":1}}}}'), 400],
  ['value nested 32k deep (fits in 64 KiB)', post('/kv/k', nested(32000)), 400],
  ['value nested 65 deep', post('/kv/k', nested(65)), 400],
  ['by as a string', post('/counters/c/incr', '{"by":"5"}'), 400],
  ['by as a fraction', post('/counters/c/incr', '{"by":1.5}'), 400],
  ['by huge (1e300)', post('/counters/c/incr', '{"by":1e300}'), 400],
  ['by beyond the bound', post('/counters/c/incr', '{"by":1000000001}'), 400],
  ['by very negative', post('/counters/c/incr', '{"by":-1e10}'), 400],
  ['by null', post('/counters/c/incr', '{"by":null}'), 400],
  ['by true', post('/counters/c/incr', '{"by":true}'), 400],
  ['by as an array', post('/counters/c/incr', '{"by":[1]}'), 400],
  ['unknown field in incr', post('/counters/c/incr', '{"by":1,"times":2}'), 400],
  ['incr body is an array', post('/counters/c/incr', '[]'), 400],
  ['incr body is JSON null', post('/counters/c/incr', 'null'), 400],
  ['two Idempotency-Key headers', post('/counters/c/incr', '{}', { 'idempotency-key': ['a', 'b'] }), 400],
  ['incr on a bad name', post('/counters/bad%20name/incr', '{}'), 400],
  ['Idempotency-Key with a space', post('/counters/c/incr', '{}', { 'idempotency-key': 'a b' }), 400],
  ['Idempotency-Key of 300 characters', post('/counters/c/incr', '{}', { 'idempotency-key': 'k'.repeat(300) }), 400],
  ['X-Request-Id with a control character', post('/kv/k', '{"value":1}', { 'x-request-id': 'a\tb' }), 400],
  ['work with ms=0', { url: '/work?ms=0' }, 400],
  ['work with ms=abc', { url: '/work?ms=abc' }, 400],
  ['work with ms=100000', { url: '/work?ms=100000' }, 400],
  ['work with an unknown query field', { url: '/work?ms=1&loops=9' }, 400],
  ['DELETE is not a route', { method: 'DELETE', url: '/kv/k' }, 404],
  ['PUT is not a route', { method: 'PUT', url: '/kv/k', headers: json, payload: '{"value":1}' }, 404],
  ['empty key', { url: '/kv/' }, 400]
]

const redis = await startTestRedis(t)

t.test('every case expects a 4xx', async (t) => {
  for (const [name, , status] of cases) t.ok(status >= 400 && status < 500, name)
})

for (const store of ['redis', 'memory'] as const) {
  t.test(`${store} store: ${cases.length} malformed requests, each a JSON 4xx`, async (t) => {
    const app = await build(t, { STORE: store, REDIS_URL: redis.url })
    for (const [name, request, status] of cases) {
      const res = await app.inject(request)
      t.equal(res.statusCode, status, `${name} → ${status}`)
      t.match(res.headers['content-type'], /^application\/json/, `${name}: JSON`)
      t.match(res.json(), { statusCode: status, error: String, message: String }, `${name}: error body`)
      t.equal(res.headers['x-instance'], 'test-1', `${name}: x-instance`)
    }
    t.equal((await app.inject('/kv/k')).statusCode, 404, 'nothing was written')
    t.equal((await app.inject('/counters/c')).json().value, 0, 'nothing was counted')
    t.equal((await app.inject('/health/ready')).statusCode, 200, 'still serving')
  })
}

t.test('a value 64 levels deep is fine', async (t) => {
  const app = await build(t, { STORE: 'memory' })
  const res = await app.inject({ method: 'POST', url: '/kv/deep', headers: json, payload: nested(64) })
  t.equal(res.statusCode, 201)
  t.equal((await app.inject('/kv/deep')).statusCode, 200)
})
