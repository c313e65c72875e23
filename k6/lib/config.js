// Reading the scripts' settings from __ENV (`k6 run -e NAME=value` or the
// environment). A bad value throws at init, so k6 stops before any load is sent,
// with a message naming the variable.
//
// Plain ES2017 on purpose: k6 0.45 and later (and 1.x) all run it unchanged.

/**
 * The variable's value, or the default when it is unset or empty.
 * @param {string} name
 * @param {string} fallback
 * @returns {string}
 */
export function env (name, fallback) {
  const value = __ENV[name]
  return value === undefined || value === '' ? fallback : value
}

/**
 * A whole number of at least `min`.
 * @param {string} name
 * @param {number} fallback
 * @param {number} [min] default 1
 * @returns {number}
 */
export function envInt (name, fallback, min) {
  const floor = min === undefined ? 1 : min
  const text = env(name, String(fallback))
  const value = Number(text)
  if (!/^\d+$/.test(text) || value < floor) {
    throw new Error(name + ' must be a whole number >= ' + floor + ', got "' + text + '"')
  }
  return value
}

/**
 * A number greater than zero (a latency bound, a rate).
 * @param {string} name
 * @param {number} fallback
 * @returns {number}
 */
export function envPositive (name, fallback) {
  const text = env(name, String(fallback))
  const value = Number(text)
  if (!/^\d+(\.\d+)?$/.test(text) || !(value > 0)) {
    throw new Error(name + ' must be a number > 0, got "' + text + '"')
  }
  return value
}

/**
 * A k6 duration such as 30s, 5m, 1m30s, 500ms.
 * @param {string} name
 * @param {string} fallback
 * @returns {string}
 */
export function envDuration (name, fallback) {
  const text = env(name, fallback)
  if (!/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(text)) {
    throw new Error(name + ' must be a duration such as 30s, 5m or 1m30s, got "' + text + '"')
  }
  return text
}

/**
 * BASE_URL without a trailing slash: where nginx (or one instance) listens.
 * @returns {string}
 */
export function baseUrl () {
  const url = env('BASE_URL', 'http://localhost').replace(/\/+$/, '')
  if (!/^https?:\/\/[^/]+/.test(url)) {
    throw new Error('BASE_URL must be an http(s) URL such as http://localhost:8080, got "' + url + '"')
  }
  return url
}

/**
 * The instance names expected in `x-instance` (INSTANCES, comma-separated).
 * Each gets an always-true threshold so its count is printed in the summary.
 * @returns {string[]}
 */
export function instanceNames () {
  const names = env('INSTANCES', 'api-1,api-2,api-3,api-4').split(',')
    .map(function (name) { return name.trim() })
    .filter(function (name) { return name !== '' })
  for (const name of names) {
    if (!/^[A-Za-z0-9:_.-]+$/.test(name)) {
      throw new Error('INSTANCES must list names made of [A-Za-z0-9:_.-], got "' + name + '"')
    }
  }
  if (names.length === 0) throw new Error('INSTANCES must name at least one instance')
  return names
}

/** The requests a mix is made of; each is tagged `endpoint:<name>`. */
export const ENDPOINTS = ['root', 'kv-get', 'kv-set', 'incr']

/**
 * @typedef {{ endpoint: string, weight: number }} MixPart
 */

/**
 * Parses a mix such as `root:40,kv-get:40,kv-set:10,incr:10`: endpoint names
 * from ENDPOINTS with whole-number weights (not necessarily summing to 100).
 * An endpoint left out gets weight 0.
 * @param {string} name the variable, for error messages
 * @param {string} text
 * @returns {MixPart[]} the parts with a weight above 0, in the order given
 */
export function parseMix (name, text) {
  /** @type {MixPart[]} */
  const parts = []
  /** @type {string[]} */
  const seen = []
  let total = 0
  for (const item of text.split(',')) {
    const match = /^\s*([a-z-]+)\s*:\s*(\d+)\s*$/.exec(item)
    if (match === null) {
      throw new Error(name + ' must look like root:40,kv-get:40,kv-set:10,incr:10, got "' + text + '"')
    }
    const endpoint = String(match[1])
    const weight = Number(match[2])
    if (ENDPOINTS.indexOf(endpoint) < 0) {
      throw new Error(name + ': unknown endpoint "' + endpoint + '" (known: ' + ENDPOINTS.join(', ') + ')')
    }
    if (seen.indexOf(endpoint) >= 0) throw new Error(name + ': endpoint "' + endpoint + '" given twice')
    seen.push(endpoint)
    total += weight
    if (weight > 0) parts.push({ endpoint, weight })
  }
  if (parts.length === 0) throw new Error(name + ' must give at least one endpoint a weight above 0')
  // The schedule (mixSchedule) has one step per unit of weight, in every VU.
  if (total > 10000) throw new Error(name + ': the weights must total at most 10000, got ' + total)
  return parts
}

/**
 * One cycle of the mix, spread out evenly (smooth weighted round robin, as
 * nginx balances): for root:2,incr:1 it is [root, incr, root]. Iteration n of
 * the test runs step n % length, so every cycle of that many iterations has
 * exactly the weights asked for, and no endpoint waits long for its turn.
 * @param {MixPart[]} parts
 * @returns {string[]}
 */
export function mixSchedule (parts) {
  let total = 0
  for (const part of parts) total += part.weight
  const slots = parts.map(function (part) {
    return { endpoint: part.endpoint, weight: part.weight, current: 0 }
  })
  /** @type {string[]} */
  const schedule = []
  for (let step = 0; step < total; step++) {
    /** @type {{ endpoint: string, weight: number, current: number } | null} */
    let best = null
    for (const slot of slots) {
      slot.current += slot.weight
      if (best === null || slot.current > best.current) best = slot
    }
    if (best === null) break // no parts: parseMix never returns that
    best.current -= total
    schedule.push(best.endpoint)
  }
  return schedule
}

/**
 * An id that makes this run's keys, counter names and idempotency keys unique
 * (time plus randomness, base 36: [0-9a-z] only, safe in keys and headers).
 * @returns {string}
 */
export function newRunId () {
  return Date.now().toString(36) + Math.floor(Math.random() * 0x7fffffff).toString(36)
}

/**
 * Thresholds that always hold, one per expected instance, so k6 prints each
 * sub-metric `responses_by_instance{instance:<name>}` (it prints only the
 * sub-metrics a threshold names). Their counts are the round robin's result.
 * @param {string[]} names
 * @returns {Record<string, string[]>}
 */
export function instanceThresholds (names) {
  /** @type {Record<string, string[]>} */
  const thresholds = {}
  for (const name of names) thresholds['responses_by_instance{instance:' + name + '}'] = ['count>=0']
  return thresholds
}
