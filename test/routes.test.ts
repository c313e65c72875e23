import { createHash } from 'node:crypto'
import Fastify from 'fastify'
import t from 'tap'
import { ROUNDS_PER_MS } from '../src/routes/work.js'
import { KvEntrySchema } from '../src/schemas/kv.js'
import { withRedis } from '../src/lab/system/redis-client.js'
import { build, onEachStore, postJson, startTestRedis } from './helper.js'

// Every route and status code, against a real Redis. The same file runs the
// single-instance behaviour on the memory store: it must pass there too.
const redis = await startTestRedis(t)

onEachStore(t, redis, (t, config) => {
  t.test('GET / says who answered, and by default nothing about the process', async (t) => {
    const app = await build(t, config)
    const res = await app.inject('/')
    t.equal(res.statusCode, 200)
    t.equal(res.headers['x-instance'], 'test-1')
    t.strictSame(res.json(), { instance: 'test-1' })
  })

  t.test('GET / with SHOW_INTERNALS=1 adds pid, port and uptime (the lab reads them)', async (t) => {
    const app = await build(t, { ...config, SHOW_INTERNALS: '1' })
    const body = (await app.inject('/')).json()
    t.equal(body.instance, 'test-1')
    t.equal(body.pid, process.pid)
    t.equal(body.port, 3000)
    t.type(body.uptimeSeconds, 'number')
    t.strictSame(Object.keys(body).sort(), ['instance', 'pid', 'port', 'uptimeSeconds'])
  })

  t.test('health: live and ready', async (t) => {
    const app = await build(t, config)
    const live = await app.inject('/health/live')
    t.equal(live.statusCode, 200)
    t.strictSame(live.json(), { status: 'live' })
    const ready = await app.inject('/health/ready')
    t.equal(ready.statusCode, 200)
    t.strictSame(ready.json(), { status: 'ready', store: config.STORE })
  })

  t.test('kv: 404, then version 1 (201), then +1 per write (200)', async (t) => {
    const app = await build(t, config)
    const missing = await app.inject('/kv/greeting')
    t.equal(missing.statusCode, 404)
    t.match(missing.json(), { statusCode: 404, error: 'Not Found', message: 'Key greeting not found' })
    t.equal(missing.headers['x-instance'], 'test-1', 'errors carry x-instance too')

    const first = await postJson(app, '/kv/greeting', { value: { text: 'hello' } })
    t.equal(first.statusCode, 201)
    t.strictSame(first.json(), { key: 'greeting', value: { text: 'hello' }, version: 1 })
    t.notOk(first.headers['idempotent-replay'])

    for (const [i, value] of [[2, 'hi'], [3, null], [4, [1, 2, 3]], [5, 42]] as const) {
      const res = await postJson(app, '/kv/greeting', { value })
      t.equal(res.statusCode, 200)
      t.strictSame(res.json(), { key: 'greeting', value, version: i })
    }
    const read = await app.inject('/kv/greeting')
    t.equal(read.statusCode, 200)
    t.strictSame(read.json(), { key: 'greeting', value: 42, version: 5 })
  })

  t.test('kv: GET sends the stored JSON as is, byte for byte what the schema serialiser made of it parsed', async (t) => {
    const app = await build(t, config)
    // The answer before: the route returned { key, value, version } and fast-json-stringify
    // serialised it from the response schema. The same schema on a bare Fastify is the reference.
    const reference = Fastify()
    reference.post('/:key', { schema: { response: { 200: KvEntrySchema } } }, async (request) =>
      ({ key: (request.params as { key: string }).key, value: (request.body as { value: unknown }).value, version: 1 }))
    t.teardown(() => reference.close())
    const bodies = [
      '{"value":"héllo wörld — 日本語 עברית 🎉 e\u0301 \u2028 as is"}',
      String.raw`{"value":"\u00e9 \ud83c\udf89 \u65e5 escaped"}`,
      String.raw`{"value":"line\nbreak\t\"quoted\" back\\slash \/ \u0000\u001f\u007f \u2028\u2029 </script>"}`,
      String.raw`{"value":"\ud800 a lone surrogate, \udfff another"}`,
      '{"value":{"a":{"b":[1,{"c":[true,false,null]},"x"]},"z":-0,"n":1e21,"f":0.1,"big":12345678901234567890,"e":1E-7,"ü":{"":""}}}',
      '{ "value" : { "spaced" : [ 1 , 2.50 , "x" ] } }',
      '{"value":[]}', '{"value":{}}', '{"value":""}', '{"value":0}', '{"value":false}',
      `{"value":${'['.repeat(50)}"deep"${']'.repeat(50)}}`
    ]
    for (const [i, body] of bodies.entries()) {
      const key = `k:${i}_x.y-z`
      const written = await app.inject({ method: 'POST', url: `/kv/${key}`, payload: body, headers: { 'content-type': 'application/json' } })
      t.equal(written.statusCode, 201, body)
      const read = await app.inject(`/kv/${key}`)
      const before = await reference.inject({ method: 'POST', url: `/${key}`, payload: body, headers: { 'content-type': 'application/json' } })
      t.equal(read.statusCode, 200)
      t.equal(read.headers['content-type'], before.headers['content-type'])
      t.equal(read.body, before.body, `byte-identical: ${body}`)
      t.strictSame(read.json(), { key, value: JSON.parse(body).value, version: 1 })
    }
  })

  t.test('kv: concurrent writes of one key each get their own version', async (t) => {
    const app = await build(t, config)
    const responses = await Promise.all(Array.from({ length: 50 }, (_, i) => postJson(app, '/kv/race', { value: i })))
    const versions = responses.map((r) => r.json().version).sort((a, b) => a - b)
    t.strictSame(versions, Array.from({ length: 50 }, (_, i) => i + 1))
  })

  t.test('counters: 0 when never written, atomic increments', async (t) => {
    const app = await build(t, config)
    t.strictSame((await app.inject('/counters/hits')).json(), { name: 'hits', value: 0 })
    const noBody = await app.inject({ method: 'POST', url: '/counters/hits/incr' })
    t.equal(noBody.statusCode, 200)
    t.strictSame(noBody.json(), { name: 'hits', value: 1 }, 'no body means by 1')
    t.strictSame((await postJson(app, '/counters/hits/incr', {})).json(), { name: 'hits', value: 2 })
    t.strictSame((await postJson(app, '/counters/hits/incr', { by: 10 })).json(), { name: 'hits', value: 12 })
    t.strictSame((await postJson(app, '/counters/hits/incr', { by: -2 })).json(), { name: 'hits', value: 10 })
    await Promise.all(Array.from({ length: 100 }, () => postJson(app, '/counters/hits/incr', { by: 1 })))
    t.strictSame((await app.inject('/counters/hits')).json(), { name: 'hits', value: 110 })
  })

  t.test('counters: leaving the safe integer range is a 409, not a 5xx', async (t) => {
    const app = await build(t, config)
    // The route bounds `by`, so reach the edge through the store itself.
    await app.store.incrCounter('big', Number.MAX_SAFE_INTEGER - 5)
    const over = await postJson(app, '/counters/big/incr', { by: 6 })
    t.equal(over.statusCode, 409)
    t.match(over.json(), { code: 'SL_COUNTER_OVERFLOW', message: 'Counter big would leave the safe integer range' })
    t.strictSame((await app.inject('/counters/big')).json(), { name: 'big', value: Number.MAX_SAFE_INTEGER - 5 }, 'nothing applied')
    const edge = await postJson(app, '/counters/big/incr', { by: 5 })
    t.strictSame(edge.json(), { name: 'big', value: Number.MAX_SAFE_INTEGER }, 'the limit itself is allowed, exactly')
    const under = await postJson(app, '/counters/neg/incr', { by: -1 })
    t.equal(under.json().value, -1)
    await app.store.incrCounter('neg', -(Number.MAX_SAFE_INTEGER - 1))
    t.equal((await postJson(app, '/counters/neg/incr', { by: -1 })).statusCode, 409, 'and below -limit too')
  })

  t.test('GET /work does CPU work and answers', async (t) => {
    const app = await build(t, config)
    const res = await app.inject('/work?ms=2')
    t.equal(res.statusCode, 200)
    t.match(res.json(), { instance: 'test-1', ms: 2, rounds: 2 * ROUNDS_PER_MS, digest: /^[0-9a-f]{64}$/ })
    // The same chain, hashed the old way: each round is SHA-256 over the previous round's
    // hex digest written over the start of 1 KiB + 64 bytes of 0x5a.
    const input = Buffer.alloc(64 + 1024, 0x5a)
    let digest = ''
    for (let i = 0; i < 2 * ROUNDS_PER_MS; i++) {
      digest = createHash('sha256').update(input).digest('hex')
      input.write(digest, 0, 'latin1')
    }
    t.equal(res.json().digest, digest, 'ms × ROUNDS_PER_MS rounds of chained SHA-256, whatever API computes them')
    t.equal((await app.inject('/work')).json().ms, 5, 'defaults to 5 ms')
  })

  t.test('unknown routes are a JSON 404 with x-instance', async (t) => {
    const app = await build(t, config)
    const res = await app.inject('/nope')
    t.equal(res.statusCode, 404)
    t.equal(res.headers['x-instance'], 'test-1')
    t.strictSame(res.json(), { statusCode: 404, code: 'SL_NO_ROUTE', error: 'Not Found', message: 'No route GET /nope' })
    const method = await app.inject({ method: 'DELETE', url: '/kv/k' })
    t.match(method.json(), { statusCode: 404, code: 'SL_NO_ROUTE', message: 'No route DELETE /kv/k' })
  })
})

t.test('a Redis reply error that is a bug, not an outage, is a logged 500, not a retryable 503', async (t) => {
  await redis.flush()
  const app = await build(t, { STORE: 'redis', REDIS_URL: redis.url })
  // Something else wrote a hash where the service keeps a counter.
  await withRedis(redis.port, (client) => client.hset('sl:ctr:clash', 'field', '1'))
  const res = await postJson(app, '/counters/clash/incr', {})
  t.equal(res.statusCode, 500)
  t.match(res.json(), { statusCode: 500, message: 'Internal Server Error' }, 'the details stay in the log')
})
