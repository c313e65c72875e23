import t from 'tap'
import { build, onEachStore, startTestRedis } from './helper.js'

// Finding 7 of issue 15: a body must never be changed on its way in. What JSON.parse
// would quietly alter (a number it cannot hold, a key given twice) is a 400 that says
// so, and a body of very many tiny values is refused before it is built (finding 3).

const json = { 'content-type': 'application/json' }
const redis = await startTestRedis(t)

/** `n` empty objects in the value: 3 bytes each, so ~21,800 fit in 64 KiB. */
const manyObjects = (n: number) => '{"value":[' + Array(n).fill('{}').join(',') + ']}'

onEachStore(t, redis, (t, config) => {
  t.test('refused with a 400 that names the problem, and nothing is written', async (t) => {
    const app = await build(t, config)
    const cases: Array<[string, string, string, string | RegExp]> = [
      ['a number beyond a double (1e309)', '/kv/k', '{"value":1e309}', /1e309 .*cannot be stored exactly/],
      ['a negative one (-1e400)', '/kv/k', '{"value":[-1e400]}', /-1e400/],
      ['an integer of 30 digits', '/kv/k', '{"value":123456789012345678901234567890}', /123456789012345678901234567890 .*1\.2345678901234568e\+29/],
      ['2^53 + 1', '/kv/k', '{"value":9007199254740993}', /9007199254740993 .*9007199254740992/],
      ['a fraction with more digits than a double holds', '/kv/k', '{"value":0.10000000000000000001}', /0\.10000000000000000001/],
      ['a number that underflows to 0', '/kv/k', '{"value":1e-400}', /1e-400/],
      ['a duplicate key', '/counters/c/incr', '{"by":1,"by":1000}', 'Duplicate key "by" in a JSON object: send each key once'],
      ['a duplicate key spelt with an escape', '/kv/k', '{"value":{"a":1,"\\u0061":2}}', /Duplicate key "a"/],
      ['a duplicate key deep inside', '/kv/k', '{"value":[{"x":{"y":1,"y":1}}]}', /Duplicate key "y"/],
      ['a duplicate of the body key itself', '/kv/k', '{"value":1,"value":2}', /Duplicate key "value"/]
    ]
    for (const [name, url, payload, message] of cases) {
      const res = await app.inject({ method: 'POST', url, headers: json, payload })
      t.equal(res.statusCode, 400, `${name} → 400`)
      t.match(res.json(), { statusCode: 400, code: /^SL_/, message }, `${name}: says why`)
    }
    t.equal((await app.inject('/kv/k')).statusCode, 404, 'nothing was written')
    t.equal((await app.inject('/counters/c')).json().value, 0, 'nothing was counted')
  })

  t.test('numbers JSON holds exactly are kept as sent', async (t) => {
    const app = await build(t, config)
    const value = [0, -0.5, 0.1, 1.5e-7, 1e21, 1e300, 9007199254740991, -9007199254740991, 123.456, 1e-300, 5e-324]
    const payload = '{"value":[0,-0.5,0.1,1.5e-7,1e21,1E300,9007199254740991,-9007199254740991,123.4560,1e-300,5e-324]}'
    const res = await app.inject({ method: 'POST', url: '/kv/n', headers: json, payload })
    t.equal(res.statusCode, 201)
    t.strictSame((await app.inject('/kv/n')).json().value, value)
    // Same number, other spelling: 1.0 is 1, 100e-2 is 1, -0 is 0.
    for (const spelling of ['1.0', '100e-2', '0.01e2']) {
      const again = await app.inject({ method: 'POST', url: '/counters/c/incr', headers: json, payload: `{"by":${spelling}}` })
      t.equal(again.statusCode, 200, `${spelling} is an integer`)
    }
    t.equal((await app.inject('/counters/c')).json().value, 3)
  })

  t.test('a body of very many small values is refused before it is built', async (t) => {
    const app = await build(t, config)
    const flood = manyObjects(21_800)
    t.ok(Buffer.byteLength(flood) < 64 * 1024, 'it fits in the body limit')
    const res = await app.inject({ method: 'POST', url: '/kv/k', headers: json, payload: flood })
    t.equal(res.statusCode, 400)
    t.match(res.json(), { code: 'SL_TOO_MANY_ELEMENTS', message: /more than 4096 JSON values/ })
    const within = await app.inject({ method: 'POST', url: '/kv/k', headers: json, payload: manyObjects(4000) })
    t.equal(within.statusCode, 201, '4,000 objects are fine')
  })

  t.test('prototype poisoning is still refused, and strings may say __proto__', async (t) => {
    const app = await build(t, config)
    for (const payload of ['{"value":1,"__proto__":{"admin":true}}', '{"value":{"\\u005f_proto__":{"admin":true}}}', '{"value":{"constructor":{"prototype":{"x":1}}}}']) {
      const res = await app.inject({ method: 'POST', url: '/kv/k', headers: json, payload })
      t.equal(res.statusCode, 400, payload)
      t.match(res.json(), { code: 'SL_INVALID_JSON', message: /forbidden prototype property/ })
    }
    const text = await app.inject({ method: 'POST', url: '/kv/k', headers: json, payload: '{"value":"__proto__"}' })
    t.equal(text.statusCode, 201)
  })

  t.test('malformed JSON and an empty body say so', async (t) => {
    const app = await build(t, config)
    const broken = await app.inject({ method: 'POST', url: '/kv/k', headers: json, payload: '{"value":' })
    t.match(broken.json(), { statusCode: 400, code: 'SL_INVALID_JSON', message: /^Body is not valid JSON: / })
    const empty = await app.inject({ method: 'POST', url: '/kv/k', headers: json, payload: '' })
    t.match(empty.json(), { statusCode: 400, code: 'FST_ERR_CTP_EMPTY_JSON_BODY' })
    const charset = await app.inject({ method: 'POST', url: '/kv/k', headers: { 'content-type': 'application/json; charset=utf-8' }, payload: '{"value":1}' })
    t.equal(charset.statusCode, 201, 'a charset parameter is fine')
  })
})
