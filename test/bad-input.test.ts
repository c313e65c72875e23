import t from 'tap'
import type { InjectOptions } from 'fastify'
import { build, startTestRedis } from './helper.js'

// Nothing a client sends may yield a 5xx: each malformed request gets a 4xx with
// a JSON error body (and x-instance), and the app keeps serving afterwards.

const json = { 'content-type': 'application/json' }
const longKey = 'k'.repeat(129)
const nested = (depth: number) => '{"value":' + '['.repeat(depth) + ']'.repeat(depth) + '}'

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
  ['write to a key too long', { method: 'POST', url: `/kv/${longKey}`, headers: json, payload: '{"value":1}' }, 400],
  ['malformed JSON', { method: 'POST', url: '/kv/k', headers: json, payload: '{"value":' }, 400],
  ['JSON null body', { method: 'POST', url: '/kv/k', headers: json, payload: 'null' }, 400],
  ['JSON array body', { method: 'POST', url: '/kv/k', headers: json, payload: '[1]' }, 400],
  ['JSON string body', { method: 'POST', url: '/kv/k', headers: json, payload: '"value"' }, 400],
  ['missing value', { method: 'POST', url: '/kv/k', headers: json, payload: '{}' }, 400],
  ['unknown field beside value', { method: 'POST', url: '/kv/k', headers: json, payload: '{"value":1,"ttl":5}' }, 400],
  ['empty body with a JSON content-type', { method: 'POST', url: '/kv/k', headers: json, payload: '' }, 400],
  ['body over 64 KiB', { method: 'POST', url: '/kv/k', headers: json, payload: JSON.stringify({ value: 'x'.repeat(64 * 1024) }) }, 413],
  ['text/plain body (parsed as a string, not an object)', { method: 'POST', url: '/kv/k', headers: { 'content-type': 'text/plain' }, payload: 'value=1' }, 400],
  ['form body', { method: 'POST', url: '/kv/k', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'value=1' }, 415],
  ['__proto__ in the body', { method: 'POST', url: '/kv/k', headers: json, payload: '{"value":1,"__proto__":{"admin":true}}' }, 400],
  ['constructor.prototype in the body', { method: 'POST', url: '/kv/k', headers: json, payload: '{"value":{"constructor":{"prototype":{"x":1}}}}' }, 400],
  ['value nested 32k deep (fits in 64 KiB)', { method: 'POST', url: '/kv/k', headers: json, payload: nested(32000) }, 400],
  ['value nested 65 deep', { method: 'POST', url: '/kv/k', headers: json, payload: nested(65) }, 400],
  ['by as a string', { method: 'POST', url: '/counters/c/incr', headers: json, payload: '{"by":"5"}' }, 400],
  ['by as a fraction', { method: 'POST', url: '/counters/c/incr', headers: json, payload: '{"by":1.5}' }, 400],
  ['by huge (1e300)', { method: 'POST', url: '/counters/c/incr', headers: json, payload: '{"by":1e300}' }, 400],
  ['by beyond the bound', { method: 'POST', url: '/counters/c/incr', headers: json, payload: '{"by":1000000001}' }, 400],
  ['by very negative', { method: 'POST', url: '/counters/c/incr', headers: json, payload: '{"by":-1e10}' }, 400],
  ['by null', { method: 'POST', url: '/counters/c/incr', headers: json, payload: '{"by":null}' }, 400],
  ['by true', { method: 'POST', url: '/counters/c/incr', headers: json, payload: '{"by":true}' }, 400],
  ['by as an array', { method: 'POST', url: '/counters/c/incr', headers: json, payload: '{"by":[1]}' }, 400],
  ['unknown field in incr', { method: 'POST', url: '/counters/c/incr', headers: json, payload: '{"by":1,"times":2}' }, 400],
  ['incr body is an array', { method: 'POST', url: '/counters/c/incr', headers: json, payload: '[]' }, 400],
  ['incr body is JSON null', { method: 'POST', url: '/counters/c/incr', headers: json, payload: 'null' }, 400],
  ['two Idempotency-Key headers', { method: 'POST', url: '/counters/c/incr', headers: { ...json, 'idempotency-key': ['a', 'b'] }, payload: '{}' }, 400],
  ['incr on a bad name', { method: 'POST', url: '/counters/bad%20name/incr', headers: json, payload: '{}' }, 400],
  ['Idempotency-Key with a space', { method: 'POST', url: '/counters/c/incr', headers: { ...json, 'idempotency-key': 'a b' }, payload: '{}' }, 400],
  ['Idempotency-Key of 300 characters', { method: 'POST', url: '/counters/c/incr', headers: { ...json, 'idempotency-key': 'k'.repeat(300) }, payload: '{}' }, 400],
  ['X-Request-Id with a control character', { method: 'POST', url: '/kv/k', headers: { ...json, 'x-request-id': 'a\tb' }, payload: '{"value":1}' }, 400],
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
