// The request mix shared by load.js and drill.js: GET /, GET /kv/:key,
// POST /kv/:key and POST /counters/:name/incr, each checked.
//
// Reads only ever ask for keys that setup() wrote (seedKeys), so a 404 is a
// real miss (a read that did not see a write), never a key that was not there
// yet: it fails the check and counts in http_req_failed. Against STORE=memory
// behind nginx that is exactly what happens to most reads.
import { check } from 'k6'
import { is2xx, send } from './api.js'

/**
 * @typedef {object} MixContext
 * @property {string} base BASE_URL
 * @property {string} keyPrefix the pool's keys are keyPrefix + 0 .. keyPrefix + (keys - 1)
 * @property {number} keys how many keys the pool has
 * @property {string} counter the counter that incr increments
 * @property {string} idempotencyKey unique to this iteration (its one mutation)
 */

/**
 * @typedef {object} StepResult
 * @property {string} endpoint
 * @property {boolean} ok every check of the step passed
 * @property {boolean} acked for incr: the service acknowledged it (2xx), so it must be in the counter
 */

/**
 * Writes the key pool, so that every read of the mix is of a written key.
 * Throws (and so stops the run) if a write is refused.
 * @param {string} base
 * @param {string} keyPrefix
 * @param {number} keys
 */
export function seedKeys (base, keyPrefix, keys) {
  for (let i = 0; i < keys; i++) {
    const reply = send('POST', base, '/kv/' + keyPrefix + i, {
      endpoint: 'setup', name: 'POST /kv/:key', payload: { value: 'seed ' + i }
    })
    if (!is2xx(reply.res.status)) {
      throw new Error('setup: POST ' + base + '/kv/' + keyPrefix + i + ' answered ' + reply.res.status +
        ' ' + (reply.res.error || '') + ': is the stack up at BASE_URL?')
    }
  }
}

/**
 * Runs one request of the mix and checks its answer.
 * @param {string} endpoint one of ENDPOINTS
 * @param {MixContext} ctx
 * @returns {StepResult}
 */
export function runStep (endpoint, ctx) {
  if (endpoint === 'root') {
    const reply = send('GET', ctx.base, '/', { endpoint, name: 'GET /' })
    const ok = check(reply.res, {
      'root: status 200': (r) => r.status === 200,
      'root: body names the instance in x-instance': () => reply.body !== null && reply.body.instance === reply.instance
    })
    return { endpoint, ok, acked: false }
  }

  if (endpoint === 'kv-get') {
    const key = ctx.keyPrefix + randomIndex(ctx.keys)
    const reply = send('GET', ctx.base, '/kv/' + key, { endpoint, name: 'GET /kv/:key' })
    const ok = check(reply.res, {
      'kv-get: status 200 (the key was written in setup)': (r) => r.status === 200,
      'kv-get: { key, value, version >= 1 }': () => reply.body !== null && reply.body.key === key &&
        typeof reply.body.value === 'string' && reply.body.version >= 1
    })
    return { endpoint, ok, acked: false }
  }

  if (endpoint === 'kv-set') {
    const key = ctx.keyPrefix + randomIndex(ctx.keys)
    const value = 'set ' + ctx.idempotencyKey
    const reply = send('POST', ctx.base, '/kv/' + key, {
      endpoint, name: 'POST /kv/:key', payload: { value }, idempotencyKey: ctx.idempotencyKey
    })
    const ok = check(reply.res, {
      'kv-set: status 200/201': (r) => r.status === 200 || r.status === 201,
      'kv-set: echoes { key, value } with version >= 1': () => reply.body !== null && reply.body.key === key &&
        reply.body.value === value && reply.body.version >= 1
    })
    return { endpoint, ok, acked: false }
  }

  if (endpoint === 'incr') {
    const reply = send('POST', ctx.base, '/counters/' + ctx.counter + '/incr', {
      endpoint, name: 'POST /counters/:name/incr', payload: { by: 1 }, idempotencyKey: ctx.idempotencyKey
    })
    const ok = check(reply.res, {
      'incr: status 200': (r) => r.status === 200,
      'incr: { name, value } with an integer value': () => reply.body !== null && reply.body.name === ctx.counter &&
        Number.isInteger(reply.body.value)
    })
    return { endpoint, ok, acked: is2xx(reply.res.status) }
  }

  throw new Error('unknown endpoint "' + endpoint + '"')
}

/**
 * 0 .. n - 1, uniformly.
 * @param {number} n
 * @returns {number}
 */
function randomIndex (n) {
  return Math.floor(Math.random() * n)
}
