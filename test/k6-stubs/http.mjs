// Stand-in for `k6/http`: records each request and answers it with the test's
// fake service (globalThis.__k6stub.respond).
const state = () => globalThis.__k6stub

function request (method, url, body, params) {
  const req = { method, url, body, params: params || {} }
  state().requests.push(req)
  return state().respond(req)
}

export function get (url, params) { return request('GET', url, null, params) }
export function post (url, body, params) { return request('POST', url, body, params) }
export function expectedStatuses (...statuses) { return { expectedStatuses: statuses } }

export default { get, post, expectedStatuses }
