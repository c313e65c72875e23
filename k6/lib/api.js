// One way to call the scale-lab API from k6: every request is tagged with its
// endpoint (so the summary can show each), every response is counted by the
// instance that answered it (its `x-instance` header), and JSON bodies are
// parsed without ever throwing.
import http from 'k6/http'
import { Counter } from 'k6/metrics'

/**
 * Responses counted by who answered: one sub-metric per `instance` tag value.
 * `none` means no x-instance header came back (a connection error, or a reply
 * nginx made itself, such as its own 502).
 */
export const responsesByInstance = new Counter('responses_by_instance')

/** @typedef {Record<string, any>} Json a parsed JSON object body */

/**
 * @typedef {object} SendOptions
 * @property {string} endpoint the `endpoint` tag (root, kv-get, kv-set, incr, setup, ...)
 * @property {string} name the `name` tag: the route, not the URL, so each key does not become its own series
 * @property {unknown} [payload] sent as JSON when given
 * @property {string} [idempotencyKey] the Idempotency-Key header: the mutation is applied at most once
 * @property {number[]} [expected] statuses that are answers, not failures, for http_req_failed
 *   (default: k6's 200-399)
 */

/**
 * @typedef {object} Reply
 * @property {import('k6/http').Response} res
 * @property {Json | null} body the parsed body when it is a JSON object, else null
 * @property {string} instance who answered (x-instance), or 'none'
 */

/**
 * Sends one request and counts its answer by instance.
 * @param {'GET' | 'POST'} method
 * @param {string} base BASE_URL without a trailing slash
 * @param {string} path starting with /
 * @param {SendOptions} options
 * @returns {Reply}
 */
export function send (method, base, path, options) {
  /** @type {Record<string, string>} */
  const headers = {}
  if (options.payload !== undefined) headers['Content-Type'] = 'application/json'
  if (options.idempotencyKey !== undefined) headers['Idempotency-Key'] = options.idempotencyKey
  /** @type {import('k6/http').Params} */
  const params = { headers, tags: { endpoint: options.endpoint, name: options.name } }
  if (options.expected !== undefined) params.responseCallback = http.expectedStatuses(...options.expected)

  const url = base + path
  const res = method === 'GET'
    ? http.get(url, params)
    : http.post(url, options.payload === undefined ? null : JSON.stringify(options.payload), params)

  const instance = instanceOf(res)
  responsesByInstance.add(1, { instance })
  return { res, body: jsonObject(res), instance }
}

/**
 * The x-instance header (k6 gives header names in canonical form, X-Instance).
 * @param {import('k6/http').Response} res
 * @returns {string}
 */
export function instanceOf (res) {
  const headers = res.headers || {}
  return headers['X-Instance'] || headers['x-instance'] || 'none'
}

/**
 * The body as a JSON object, or null (no body, not JSON, not an object).
 * @param {import('k6/http').Response} res
 * @returns {Json | null}
 */
function jsonObject (res) {
  if (typeof res.body !== 'string' || res.body === '') return null
  try {
    const value = JSON.parse(res.body)
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? value : null
  } catch (e) {
    return null
  }
}

/** @param {number} status */
export function is2xx (status) {
  return status >= 200 && status < 300
}
