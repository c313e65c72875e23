import t from 'tap'
import { withRedis } from '../src/lab/system/redis-client.js'
import { build, onEachStore, postJson, startTestRedis } from './helper.js'

const redis = await startTestRedis(t)

onEachStore(t, redis, (t, config) => {
  t.test('same Idempotency-Key twice: applied once, same answer, marked as a replay', async (t) => {
    const app = await build(t, config)
    const headers = { 'idempotency-key': 'incr-1' }
    const first = await postJson(app, '/counters/c/incr', { by: 3 }, headers)
    const again = await postJson(app, '/counters/c/incr', { by: 3 }, headers)
    t.equal(first.statusCode, 200)
    t.equal(again.statusCode, 200)
    t.strictSame(again.json(), first.json())
    t.strictSame(first.json(), { name: 'c', value: 3 })
    t.notOk(first.headers['idempotent-replay'])
    t.equal(again.headers['idempotent-replay'], 'true')
    t.strictSame((await app.inject('/counters/c')).json(), { name: 'c', value: 3 }, 'one increment')

    await postJson(app, '/counters/c/incr', { by: 1 }, { 'idempotency-key': 'incr-2' })
    const replayOfFirst = await postJson(app, '/counters/c/incr', { by: 3 }, headers)
    t.strictSame(replayOfFirst.json(), { name: 'c', value: 3 }, 'a replay answers as the first time, not with the current value')
  })

  t.test('kv writes replay with their status and version', async (t) => {
    const app = await build(t, config)
    const headers = { 'idempotency-key': 'put-1' }
    const first = await postJson(app, '/kv/k', { value: 'a' }, headers)
    await postJson(app, '/kv/k', { value: 'b' })
    const again = await postJson(app, '/kv/k', { value: 'a' }, headers)
    t.equal(first.statusCode, 201)
    t.equal(again.statusCode, 201)
    t.strictSame(again.json(), { key: 'k', value: 'a', version: 1 })
    t.equal(again.headers['idempotent-replay'], 'true')
    t.strictSame((await app.inject('/kv/k')).json(), { key: 'k', value: 'b', version: 2 }, 'the replay wrote nothing')
  })

  t.test('X-Request-Id (set by nginx) is the key when there is no Idempotency-Key', async (t) => {
    const app = await build(t, config)
    const headers = { 'x-request-id': '0123456789abcdef0123456789abcdef' }
    await postJson(app, '/counters/r/incr', {}, headers)
    const retried = await postJson(app, '/counters/r/incr', {}, headers)
    t.equal(retried.headers['idempotent-replay'], 'true')
    t.equal((await app.inject('/counters/r')).json().value, 1)
    // Idempotency-Key wins over X-Request-Id, and the two never collide even when equal.
    const own = await postJson(app, '/counters/r/incr', {}, { ...headers, 'idempotency-key': 'mine' })
    t.notOk(own.headers['idempotent-replay'])
    t.equal(own.json().value, 2)
    const sameText = await postJson(app, '/counters/r/incr', {}, { 'idempotency-key': headers['x-request-id'] })
    t.notOk(sameText.headers['idempotent-replay'], "a client's key equal to a request id is another key")
    t.equal(sameText.json().value, 3)
  })

  t.test('without a key every request applies', async (t) => {
    const app = await build(t, config)
    await postJson(app, '/counters/n/incr', {})
    await postJson(app, '/counters/n/incr', {})
    t.equal((await app.inject('/counters/n')).json().value, 2)
  })

  t.test('a key reused for a different request is refused with 422', async (t) => {
    const app = await build(t, config)
    const headers = { 'idempotency-key': 'shared' }
    await postJson(app, '/counters/a/incr', { by: 1 }, headers)
    await postJson(app, '/kv/doc', { value: { v: 1 } }, { 'idempotency-key': 'doc-write' })
    const otherValue = await postJson(app, '/kv/doc', { value: { v: 2 } }, { 'idempotency-key': 'doc-write' })
    t.equal(otherValue.statusCode, 422, 'same key, same kv key, another value')
    t.strictSame((await app.inject('/kv/doc')).json(), { key: 'doc', value: { v: 1 }, version: 1 })
    const cases = [
      ['/counters/a/incr', { by: 2 }],
      ['/counters/b/incr', { by: 1 }],
      ['/kv/a', { value: 1 }]
    ] as const
    for (const [url, body] of cases) {
      const res = await postJson(app, url, body, headers)
      t.equal(res.statusCode, 422, `${url} ${JSON.stringify(body)}`)
      t.match(res.json(), { code: 'SL_IDEMPOTENCY_KEY_REUSED' })
    }
    t.equal((await app.inject('/counters/a')).json().value, 1)
    t.equal((await app.inject('/counters/b')).json().value, 0)
    t.equal((await app.inject('/kv/a')).statusCode, 404)
  })

  t.test('the 422 says what to fix and never shows how the key is stored', async (t) => {
    const app = await build(t, config)
    await postJson(app, '/counters/a/incr', { by: 1 }, { 'idempotency-key': 'order-42' })
    const res = await postJson(app, '/counters/a/incr', { by: 2 }, { 'idempotency-key': 'order-42' })
    t.equal(res.statusCode, 422)
    t.strictSame(res.json(), {
      statusCode: 422,
      code: 'SL_IDEMPOTENCY_KEY_REUSED',
      error: 'Unprocessable Entity',
      message: 'This Idempotency-Key was already used for a different request; use a new key for a new request'
    })
  })

  t.test("another client's key is another key: it can neither claim nor read a victim's", async (t) => {
    const app = await build(t, config)
    const post = (url: string, payload: string, key: string, remoteAddress = '127.0.0.1') =>
      app.inject({ method: 'POST', url, headers: { 'idempotency-key': key, 'content-type': 'application/json' }, payload, remoteAddress })
    const attacker = '127.0.0.2'
    // The attacker claims guessable keys first: one for the victim's very request, one for another.
    t.equal((await post('/counters/orders/incr', '{"by":5}', 'order-42', attacker)).statusCode, 200)
    t.equal((await post('/counters/other/incr', '{}', 'order-43', attacker)).statusCode, 200)
    // The victim's writes with those keys are applied: not no-op'd as replays, not refused with 422.
    const victim = await post('/counters/orders/incr', '{"by":1}', 'order-42')
    t.equal(victim.statusCode, 200)
    t.notOk(victim.headers['idempotent-replay'], "not a replay of the attacker's answer")
    t.equal(victim.json().value, 6)
    const next = await post('/counters/orders/incr', '{"by":1}', 'order-43')
    t.equal(next.statusCode, 200, 'not refused because the attacker used the key elsewhere')
    t.equal(next.json().value, 7)
    const retried = await post('/counters/orders/incr', '{"by":1}', 'order-42')
    t.equal(retried.headers['idempotent-replay'], 'true', "the victim's retry replays the victim's own answer")
    t.equal(retried.json().value, 6)
  })

  t.test('behind the balancer, clients are told apart by the address it forwards', async (t) => {
    const app = await build(t, config)
    const key = { 'idempotency-key': 'cart-1' }
    const a = await postJson(app, '/counters/cart/incr', {}, { ...key, 'x-forwarded-for': '198.51.100.7' })
    const b = await postJson(app, '/counters/cart/incr', {}, { ...key, 'x-forwarded-for': '198.51.100.8' })
    t.notOk(b.headers['idempotent-replay'], 'another client behind the same balancer')
    t.equal(b.json().value, 2)
    const aAgain = await postJson(app, '/counters/cart/incr', {}, { ...key, 'x-forwarded-for': '198.51.100.7' })
    t.equal(aAgain.headers['idempotent-replay'], 'true')
    t.equal(aAgain.json().value, a.json().value)
  })

  t.test('X-Request-Id is a key only when the balancer (a TRUST_PROXY address) sent it', async (t) => {
    const app = await build(t, config)
    const rid = { 'x-request-id': 'f00dfeedf00dfeedf00dfeedf00dfeed', 'content-type': 'application/json' }
    const direct = { method: 'POST' as const, url: '/counters/direct/incr', headers: rid, payload: '{}', remoteAddress: '127.0.0.9' }
    await app.inject(direct)
    const again = await app.inject(direct)
    t.notOk(again.headers['idempotent-replay'], 'from a client reached directly it is ignored')
    t.equal((await app.inject('/counters/direct')).json().value, 2)
    // From the balancer (127.0.0.1, the default TRUST_PROXY) it still makes retries safe.
    await app.inject({ ...direct, remoteAddress: '127.0.0.1' })
    const retried = await app.inject({ ...direct, remoteAddress: '127.0.0.1' })
    t.equal(retried.headers['idempotent-replay'], 'true')
  })

  t.test('concurrent repeats of one key on one instance apply once', async (t) => {
    const app = await build(t, config)
    const results = await Promise.all(Array.from({ length: 20 }, () =>
      postJson(app, '/counters/burst/incr', { by: 1 }, { 'idempotency-key': 'burst-1' })))
    t.ok(results.every((r) => r.statusCode === 200 && r.json().value === 1))
    t.equal(results.filter((r) => r.headers['idempotent-replay'] !== 'true').length, 1, 'exactly one was applied')
    t.equal((await app.inject('/counters/burst')).json().value, 1)
  })
})

t.test('two instances sharing Redis: racing repeats of one key apply once', async (t) => {
  await redis.flush()
  const config = { STORE: 'redis', REDIS_URL: redis.url }
  const one = await build(t, { ...config, INSTANCE_ID: 'one' })
  const two = await build(t, { ...config, INSTANCE_ID: 'two' })
  for (let round = 0; round < 25; round++) {
    const headers = { 'idempotency-key': `race-${round}` }
    const [a, b] = await Promise.all([
      postJson(one, '/counters/shared/incr', { by: 1 }, headers),
      postJson(two, '/counters/shared/incr', { by: 1 }, headers)
    ])
    t.equal(a.statusCode, 200)
    t.equal(b.statusCode, 200)
    t.equal(a.json().value, b.json().value, `round ${round}: both answer with the one applied value`)
    t.equal([a, b].filter((r) => r.headers['idempotent-replay'] === 'true').length, 1, `round ${round}: one replay`)
  }
  t.strictSame((await one.inject('/counters/shared')).json(), { name: 'shared', value: 25 })
  t.strictSame((await two.inject('/counters/shared')).json(), { name: 'shared', value: 25 })
})

t.test("records expire (finding 2's budget): a client's key after 24 h, the balancer's request id after 10 min", async (t) => {
  await redis.flush()
  const app = await build(t, { STORE: 'redis', REDIS_URL: redis.url })
  await postJson(app, '/counters/ttl/incr', {}, { 'idempotency-key': 'ttl-1' })
  await postJson(app, '/counters/ttl/incr', {}, { 'x-request-id': 'ttl-request-id-1' })
  const ttls = await withRedis(redis.port, async (client) => {
    const keys = (await client.keys('sl:idem:*')).sort()
    return Promise.all(keys.map(async (key) => [key, await client.ttl(key)] as const))
  })
  t.equal(ttls.length, 2, 'one record each')
  const [[clientKey, clientTtl], [requestKey, requestTtl]] = ttls as [[string, number], [string, number]]
  t.match(clientKey, /^sl:idem:k:127\.0\.0\.1\/ttl-1$/, "the client's key, in its client's scope")
  t.ok(clientTtl > 24 * 3600 - 60 && clientTtl <= 24 * 3600, `kept ${clientTtl} s`)
  t.match(requestKey, /^sl:idem:r:ttl-request-id-1$/)
  t.ok(requestTtl > 600 - 60 && requestTtl <= 600, `kept ${requestTtl} s`)
})

t.test('two instances on the memory store do NOT share anything (the lesson)', async (t) => {
  const one = await build(t, { STORE: 'memory', INSTANCE_ID: 'one' })
  const two = await build(t, { STORE: 'memory', INSTANCE_ID: 'two' })
  const headers = { 'idempotency-key': 'split' }
  await postJson(one, '/counters/split/incr', { by: 1 }, headers)
  const onTwo = await postJson(two, '/counters/split/incr', { by: 1 }, headers)
  t.notOk(onTwo.headers['idempotent-replay'], 'the other process never saw the key')
  await postJson(one, '/kv/only-on-one', { value: 1 })
  t.equal((await two.inject('/kv/only-on-one')).statusCode, 404, 'a write on one is invisible on two')
})
