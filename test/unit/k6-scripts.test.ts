// The k6 scripts (k6/*.js) under Node. k6 itself is not installed here, so
// their imports of k6's modules resolve to the small stand-ins in
// test/k6-stubs/ (loader.mjs), which record checks, metric samples and
// requests, and answer requests with a fake service defined below. This checks
// the scripts' structure (options, thresholds, env handling, handleSummary)
// and their logic (what they count, and whether their own thresholds would
// pass) against a shared store and a split one; k6's engine is not simulated.
import { register } from 'node:module'
import t from 'tap'

register('../k6-stubs/loader.mjs', import.meta.url)

interface Sample { metric: string, type: string, value: number, tags: Record<string, string> }
interface StubRequest { method: string, url: string, body: string | null, params: { headers?: Record<string, string>, tags?: Record<string, string>, responseCallback?: unknown } }
interface StubResponse { status: number, headers: Record<string, string>, body: string, error: string, error_code: number }
interface StubState {
  checks: Array<{ name: string, ok: boolean }>
  samples: Sample[]
  declared: Array<{ name: string, type: string }>
  requests: StubRequest[]
  groups: string[]
  slept: number[]
  iterationInTest: number
  respond: (req: StubRequest) => StubResponse
}
type Scenario = Record<string, unknown>
interface Script {
  options: { scenarios: Record<string, Scenario>, thresholds: Record<string, string[]>, summaryTrendStats?: string[] }
  setup?: () => unknown
  default: (data: unknown) => void
  teardown?: (data: unknown) => void
  handleSummary: (data: Record<string, unknown>) => Record<string, string>
}

const globals = globalThis as unknown as Record<string, unknown>
const stub: StubState = {
  checks: [],
  samples: [],
  declared: [],
  requests: [],
  groups: [],
  slept: [],
  iterationInTest: 0,
  respond: () => { throw new Error('no fake service set') }
}
globals.__k6stub = stub

function reset (respond: StubState['respond']): void {
  stub.checks = []
  stub.samples = []
  stub.requests = []
  stub.groups = []
  stub.slept = []
  stub.respond = respond
}

let imports = 0
/** A fresh instance of k6/<name>.js, evaluated with this __ENV (k6 freezes it too). */
async function load (name: string, env: Record<string, string> = {}): Promise<Script> {
  globals.__ENV = Object.freeze({ ...env })
  imports++
  const url = new URL(`../../k6/${name}.js?fresh=${imports}`, import.meta.url).href
  return await import(url) as Script
}

/** Runs setup, `iterations` iterations spread over `vus` VUs, then teardown, as k6 would (one at a time). */
function run (script: Script, iterations: number, vus = 4): void {
  // k6 hands setup's data to the VUs and teardown as JSON.
  const data: unknown = JSON.parse(JSON.stringify(script.setup?.() ?? null))
  for (let n = 0; n < iterations; n++) {
    globals.__VU = (n % vus) + 1
    globals.__ITER = Math.floor(n / vus)
    stub.iterationInTest = n
    script.default(data)
  }
  script.teardown?.(data)
}

// --- a fake scale-lab behind a round-robin balancer --------------------------

interface Store { kv: Map<string, { value: unknown, version: number }>, counters: Map<string, number>, replies: Map<string, StubResponse> }
const newStore = (): Store => ({ kv: new Map(), counters: new Map(), replies: new Map() })

/**
 * `shared`: every instance sees one store (Redis). Otherwise each has its own
 * (STORE=memory). `dropAckEvery`: every Nth increment is applied but answered
 * with nginx's 502 (an acknowledgement lost on the way back).
 */
function fakeService (options: { shared: boolean, instances?: number, dropAckEvery?: number }): StubState['respond'] {
  const instances = options.instances ?? 4
  const stores = Array.from({ length: options.shared ? 1 : instances }, newStore)
  let turn = 0
  let increments = 0
  return (req) => {
    const index = turn++ % instances
    const store = stores[options.shared ? 0 : index] as Store
    const instance = `api-${index + 1}`
    const reply = (status: number, body: unknown): StubResponse => ({
      status, headers: { 'X-Instance': instance, 'Content-Type': 'application/json' }, body: JSON.stringify(body), error: '', error_code: 0
    })
    const path = new URL(req.url).pathname
    const idempotencyKey = req.params.headers?.['Idempotency-Key']
    if (idempotencyKey !== undefined && store.replies.has(idempotencyKey)) return store.replies.get(idempotencyKey) as StubResponse
    const payload = req.body === null ? {} : JSON.parse(req.body) as { value?: unknown, by?: number }
    let answer: StubResponse
    let match: RegExpExecArray | null
    if (req.method === 'GET' && path === '/') {
      answer = reply(200, { instance, pid: 100 + index, port: 3001 + index, uptimeSeconds: 1 })
    } else if ((match = /^\/kv\/([A-Za-z0-9:_.-]{1,128})$/.exec(path)) !== null) {
      const key = match[1] as string
      const entry = store.kv.get(key)
      if (req.method === 'GET') {
        answer = entry === undefined ? reply(404, { statusCode: 404, code: 'FST_ERR_NOT_FOUND', error: 'Not Found', message: 'no' }) : reply(200, { key, ...entry })
      } else {
        const version = (entry?.version ?? 0) + 1
        store.kv.set(key, { value: payload.value, version })
        answer = reply(version === 1 ? 201 : 200, { key, value: payload.value, version })
      }
    } else if ((match = /^\/counters\/([A-Za-z0-9:_.-]{1,128})(\/incr)?$/.exec(path)) !== null) {
      const name = match[1] as string
      if (req.method === 'POST' && match[2] === '/incr') {
        const value = (store.counters.get(name) ?? 0) + (payload.by ?? 1)
        store.counters.set(name, value)
        increments++
        if (options.dropAckEvery !== undefined && increments % options.dropAckEvery === 0) {
          return { status: 502, headers: {}, body: '<html>502 Bad Gateway</html>', error: '', error_code: 1502 }
        }
        answer = reply(200, { name, value })
      } else {
        answer = reply(200, { name, value: store.counters.get(name) ?? 0 })
      }
    } else {
      answer = reply(404, { statusCode: 404 })
    }
    if (idempotencyKey !== undefined) store.replies.set(idempotencyKey, answer)
    return answer
  }
}

// --- the part of k6's threshold evaluation these scripts' custom metrics need ---

/** Sum (counter) or share of non-zero samples (rate) of a metric, or of a tagged sub-metric. */
function aggregate (key: string): { type: string, count: number, rate: number } {
  const match = /^([a-z_]+)(?:\{([a-z_]+):([^}]+)\})?$/.exec(key)
  if (match === null) throw new Error(`cannot parse ${key}`)
  const [, name, tag, value] = match
  if (name === 'checks') {
    const passes = stub.checks.filter((c) => c.ok).length
    return { type: 'rate', count: stub.checks.length, rate: stub.checks.length === 0 ? 0 : passes / stub.checks.length }
  }
  const samples = stub.samples.filter((s) => s.metric === name && (tag === undefined || s.tags[tag] === value))
  const declared = stub.declared.find((d) => d.name === name)
  if (declared === undefined) throw new Error(`no metric ${name}`)
  const nonZero = samples.filter((s) => s.value !== 0).length
  return {
    type: declared.type,
    count: samples.reduce((sum, s) => sum + s.value, 0),
    rate: samples.length === 0 ? 0 : nonZero / samples.length
  }
}

/** The verdict of each threshold on `checks` or on a custom metric (k6 computes the built-in http_* ones). */
function verdicts (thresholds: Record<string, string[]>): Record<string, boolean> {
  const out: Record<string, boolean> = {}
  for (const [key, expressions] of Object.entries(thresholds)) {
    if (/^(http_|dropped_iterations)/.test(key)) continue
    const value = aggregate(key)
    for (const expression of expressions) {
      const m = /^(count|rate)(==|>=|<=|<|>)([\d.]+)$/.exec(expression)
      if (m === null) throw new Error(`cannot evaluate ${expression}`)
      const actual = m[1] === 'count' ? value.count : value.rate
      const bound = Number(m[3])
      const pass = { '==': actual === bound, '>=': actual >= bound, '<=': actual <= bound, '<': actual < bound, '>': actual > bound }[m[2] as '==']
      out[`${key}: ${expression}`] = pass
    }
  }
  return out
}

const failing = (thresholds: Record<string, string[]>): string[] =>
  Object.entries(verdicts(thresholds)).filter(([, pass]) => !pass).map(([name]) => name)

const sum = (metric: string): number => aggregate(metric).count

const summaryData = { root_group: { name: '', groups: [], checks: [] }, metrics: { http_reqs: { type: 'counter', values: { count: 1 } } }, options: { noColor: false }, state: { isStdOutTTY: false } }

// --- load.js -------------------------------------------------------------------

t.test('load.js defaults: 10,000 requests by 100 VUs, with thresholds that show every endpoint and instance', async (t) => {
  const { options } = await load('load')
  t.strictSame(options.scenarios, {
    load: { executor: 'shared-iterations', iterations: 10000, vus: 100, maxDuration: '5m' }
  })
  const th = options.thresholds
  t.strictSame(th.http_req_failed, ['rate<0.001'])
  t.strictSame(th.http_req_duration, ['p(95)<500', 'p(99)<1000'])
  t.strictSame(th.checks, ['rate>0.999'])
  for (const endpoint of ['root', 'kv-get', 'kv-set', 'incr']) {
    t.strictSame(th[`http_req_duration{endpoint:${endpoint}}`], ['p(95)<500'], `per-endpoint sub-metric ${endpoint}`)
  }
  for (const instance of ['api-1', 'api-2', 'api-3', 'api-4']) {
    t.strictSame(th[`responses_by_instance{instance:${instance}}`], ['count>=0'], `per-instance sub-metric ${instance}`)
  }
  t.notOk('dropped_iterations' in th, 'no dropped_iterations without an arrival rate')
  t.ok(options.summaryTrendStats?.includes('p(99)'), 'the summary prints p99')
})

t.test('load.js SCENARIO=rate: an open model whose dropped iterations fail the run', async (t) => {
  const defaults = await load('load', { SCENARIO: 'rate' })
  t.strictSame(defaults.options.scenarios, {
    load: { executor: 'constant-arrival-rate', rate: 500, timeUnit: '1s', duration: '60s', preAllocatedVUs: 100, maxVUs: 500 }
  })
  t.strictSame(defaults.options.thresholds.dropped_iterations, ['count<=0'])

  const custom = await load('load', { SCENARIO: 'rate', RATE: '2000', DURATION: '2m', PRE_ALLOCATED_VUS: '300', MAX_VUS: '900', DROPPED_MAX: '5' })
  t.strictSame(custom.options.scenarios, {
    load: { executor: 'constant-arrival-rate', rate: 2000, timeUnit: '1s', duration: '2m', preAllocatedVUs: 300, maxVUs: 900 }
  })
  t.strictSame(custom.options.thresholds.dropped_iterations, ['count<=5'])
})

t.test('load.js env overrides change the options', async (t) => {
  const { options } = await load('load', {
    ITERATIONS: '500', VUS: '20', MAX_DURATION: '90s', P95_MS: '200', P99_MS: '400', FAILED_RATE: '0.01', MIX: 'root:1,incr:3', INSTANCES: 'a:3001, b:3002'
  })
  t.strictSame(options.scenarios.load, { executor: 'shared-iterations', iterations: 500, vus: 20, maxDuration: '90s' })
  t.strictSame(options.thresholds.http_req_duration, ['p(95)<200', 'p(99)<400'])
  t.strictSame(options.thresholds.http_req_failed, ['rate<0.01'])
  const subMetrics = Object.keys(options.thresholds).filter((k) => k.includes('{')).sort()
  t.strictSame(subMetrics, [
    'http_req_duration{endpoint:incr}', 'http_req_duration{endpoint:root}',
    'responses_by_instance{instance:a:3001}', 'responses_by_instance{instance:b:3002}'
  ], 'only the endpoints in MIX and the instances in INSTANCES')
})

t.test('a bad setting stops the script at init, naming the variable', async (t) => {
  const cases: Array<[string, Record<string, string>, RegExp]> = [
    ['load', { ITERATIONS: 'lots' }, /^ITERATIONS must be a whole number >= 1/],
    ['load', { VUS: '0' }, /^VUS must be a whole number >= 1/],
    ['load', { ITERATIONS: '10', VUS: '20' }, /^VUS \(20\) must not exceed ITERATIONS \(10\)/],
    ['load', { SCENARIO: 'burst' }, /^SCENARIO must be "iterations" or "rate"/],
    ['load', { SCENARIO: 'rate', PRE_ALLOCATED_VUS: '50', MAX_VUS: '10' }, /^MAX_VUS \(10\) must be at least PRE_ALLOCATED_VUS \(50\)/],
    ['load', { MAX_DURATION: 'soon' }, /^MAX_DURATION must be a duration/],
    ['load', { P95_MS: '-1' }, /^P95_MS must be a number > 0/],
    ['load', { MIX: 'root=1' }, /^MIX must look like/],
    ['load', { MIX: 'root:1,delete:1' }, /^MIX: unknown endpoint "delete"/],
    ['load', { MIX: 'root:1,root:2' }, /^MIX: endpoint "root" given twice/],
    ['load', { MIX: 'root:0,root:1' }, /^MIX: endpoint "root" given twice/],
    ['load', { MIX: 'root:0' }, /^MIX must give at least one endpoint a weight above 0/],
    ['load', { MIX: 'root:6000,incr:5000' }, /^MIX: the weights must total at most 10000, got 11000/],
    ['load', { BASE_URL: 'localhost:8080' }, /^BASE_URL must be an http\(s\) URL/],
    ['load', { INSTANCES: 'api 1' }, /^INSTANCES must list names made of/],
    ['load', { INSTANCES: ' , ' }, /^INSTANCES must name at least one instance/],
    ['consistency', { ITERATIONS: '5', VUS: '6' }, /^VUS \(6\) must not exceed ITERATIONS \(5\)/],
    ['drill', { RATE: '0' }, /^RATE must be a whole number >= 1/],
    ['drill', { DROPPED_MAX: '-1' }, /^DROPPED_MAX must be a whole number >= 0/],
    ['drill', { PRE_ALLOCATED_VUS: '300' }, /^MAX_VUS \(200\) must be at least PRE_ALLOCATED_VUS \(300\)/]
  ]
  for (const [script, env, message] of cases) {
    await t.rejects(load(script, env), { message }, `${script} ${JSON.stringify(env)}`)
  }
})

t.test('load.js against a shared store: BASE_URL default, the exact mix, all checks pass, round robin counted', async (t) => {
  const logs = t.capture(console, 'log')
  reset(fakeService({ shared: true }))
  const script = await load('load', { ITERATIONS: '200', VUS: '10' })
  run(script, 200)

  const setupWrites = stub.requests.filter((r) => r.params.tags?.endpoint === 'setup')
  t.equal(setupWrites.length, 100, 'setup writes the KEYS=100 keys every read may ask for')
  t.ok(stub.requests.every((r) => r.url.startsWith('http://localhost/')), 'BASE_URL defaults to http://localhost')
  const printed = logs().map((l) => String(l.args[0])).join('\n')
  t.match(printed, /^load\.js: \{"BASE_URL":"http:\/\/localhost","scenario":\{"executor":"shared-iterations"/m, 'setup prints the configuration')

  const byEndpoint: Record<string, number> = {}
  for (const r of stub.requests.slice(100)) {
    const endpoint = r.params.tags?.endpoint ?? 'untagged'
    byEndpoint[endpoint] = (byEndpoint[endpoint] ?? 0) + 1
  }
  t.strictSame(byEndpoint, { root: 60, 'kv-get': 100, 'kv-set': 20, incr: 20 }, 'MIX root:30,kv-get:50,kv-set:10,incr:10, exactly')
  t.ok(stub.requests.every((r) => typeof r.params.tags?.name === 'string'), 'every request is named by its route, not its URL')

  const mutations = stub.requests.filter((r) => r.method === 'POST' && r.params.tags?.endpoint !== 'setup')
  const keys = new Set(mutations.map((r) => r.params.headers?.['Idempotency-Key']))
  t.equal(keys.size, mutations.length, 'every mutation has an Idempotency-Key of its own')
  t.ok(mutations.every((r) => r.params.headers?.['Content-Type'] === 'application/json'), 'JSON bodies say so')

  t.ok(stub.checks.length >= 400 && stub.checks.every((c) => c.ok), 'every check passes')
  for (const instance of ['api-1', 'api-2', 'api-3', 'api-4']) {
    t.equal(sum(`responses_by_instance{instance:${instance}}`), 75, `${instance} answered a quarter of the 300 requests`)
  }
  t.strictSame(failing(script.options.thresholds), [])
})

t.test('load.js against split stores (STORE=memory): reads miss and the checks fail', async (t) => {
  t.capture(console, 'log')
  reset(fakeService({ shared: false }))
  const script = await load('load', { ITERATIONS: '200', VUS: '10' })
  run(script, 200)
  const misses = stub.checks.filter((c) => c.name.startsWith('kv-get: status 200') && !c.ok).length
  t.ok(misses > 50, `most of the 100 reads miss (${misses})`)
  t.same(failing(script.options.thresholds), ['checks: rate>0.999'])
})

t.test('handleSummary: the text summary on stdout and the data as JSON in SUMMARY_DIR', async (t) => {
  for (const name of ['load', 'consistency', 'drill']) {
    const script = await load(name)
    const out = script.handleSummary(summaryData)
    t.strictSame(Object.keys(out).sort(), [`reports/k6-${name}.json`, 'stdout'], `${name}: default SUMMARY_DIR is reports`)
    t.match(out.stdout, /TEXT SUMMARY \(1 metrics, colors false\)/, `${name}: the jslib text summary, no colours off a terminal`)
    t.strictSame(JSON.parse(out[`reports/k6-${name}.json`] as string), summaryData, `${name}: the raw data`)
  }
  const script = await load('drill', { SUMMARY_DIR: '/reports/' })
  t.strictSame(Object.keys(script.handleSummary(summaryData)).sort(), ['/reports/k6-drill.json', 'stdout'])
  const tty = script.handleSummary({ ...summaryData, state: { isStdOutTTY: true } })
  t.match(tty.stdout, /colors true/, 'colours on a terminal')
  const other = script.handleSummary({ metrics: {}, version: '1.0' })
  t.match(other.stdout, /No text summary: .*--new-machine-readable-summary.*\/reports\/k6-drill\.json/, 'another data shape: a note, and the JSON still')
  t.ok('/reports/k6-drill.json' in other)
})

// --- consistency.js --------------------------------------------------------------

t.test('consistency.js options: exact thresholds, final == acknowledged among them', async (t) => {
  const { options } = await load('consistency')
  t.strictSame(options.scenarios, {
    consistency: { executor: 'shared-iterations', iterations: 2000, vus: 50, maxDuration: '5m' }
  })
  const th = options.thresholds
  t.strictSame(th.read_mismatch, ['rate==0'])
  t.strictSame(th.write_failed, ['rate==0'])
  t.strictSame(th.incr_failed, ['rate==0'])
  t.strictSame(th.counter_acked_minus_final, ['count==0'], 'final == acknowledged')
  t.strictSame(th.counter_final_read, ['rate==1'], 'and teardown did read the final value')
  t.strictSame(th.http_req_failed, ['rate==0'])
  t.strictSame(th.checks, ['rate==1'])
  t.strictSame(th['responses_by_instance{instance:api-4}'], ['count>=0'])

  const custom = await load('consistency', { ITERATIONS: '300', VUS: '7', MAX_DURATION: '1m', BASE_URL: 'http://nginx/' })
  t.strictSame(custom.options.scenarios.consistency, { executor: 'shared-iterations', iterations: 300, vus: 7, maxDuration: '1m' })
})

t.test('consistency.js against a shared store (Redis): every rule holds', async (t) => {
  const logs = t.capture(console, 'log')
  reset(fakeService({ shared: true }))
  const script = await load('consistency', { ITERATIONS: '100', VUS: '10', BASE_URL: 'http://nginx/' })
  run(script, 100, 10)

  t.ok(stub.requests.every((r) => r.url.startsWith('http://nginx/')), 'BASE_URL is used, trailing slash or not')
  const writes = stub.requests.filter((r) => r.params.tags?.endpoint === 'kv-set')
  t.equal(new Set(writes.map((r) => r.url)).size, 100, 'every iteration writes a key of its own')
  const reads = stub.requests.filter((r) => r.params.tags?.endpoint === 'kv-get')
  t.ok(reads.every((r) => JSON.stringify(r.params.responseCallback) === '{"expectedStatuses":[200,404]}'), 'a read-back 404 is an answer for http_req_failed')
  t.equal(sum('incr_acked'), 100)
  t.equal(sum('counter_final'), 100, 'teardown read the counter: 100')
  t.equal(sum('counter_acked_minus_final'), 0)
  t.ok(aggregate('read_from_other_instance').rate > 0.5, 'the reads crossed instances')
  t.strictSame(failing(script.options.thresholds), [])
  t.match(logs().map((l) => String(l.args[0])).join('\n'), /teardown: counter k6\.consistency:[0-9a-z]+:hits rose by 100 \(from 0 to 100\)/)
})

t.test('consistency.js against split stores (STORE=memory): fails loudly', async (t) => {
  t.capture(console, 'log')
  reset(fakeService({ shared: false }))
  const script = await load('consistency', { ITERATIONS: '100', VUS: '10' })
  run(script, 100, 10)
  t.ok(aggregate('read_mismatch').rate > 0.5, 'most reads miss their write')
  t.equal(sum('incr_acked'), 100, 'every increment was acknowledged...')
  t.ok(sum('counter_final') < 50, `...but the counter read holds only one instance's share (${sum('counter_final')})`)
  t.strictSame(failing(script.options.thresholds).sort(), [
    'checks: rate==1', 'counter_acked_minus_final: count==0', 'read_mismatch: rate==0'
  ])
})

t.test('consistency.js: an increment applied but not acknowledged fails the ledger; an unreadable counter too', async (t) => {
  t.capture(console, 'log')
  t.capture(console, 'warn')
  t.capture(console, 'error')
  reset(fakeService({ shared: true, dropAckEvery: 10 }))
  const script = await load('consistency', { ITERATIONS: '100', VUS: '10' })
  run(script, 100, 10)
  t.equal(sum('incr_acked'), 90)
  t.equal(sum('counter_final'), 100)
  t.equal(sum('counter_acked_minus_final'), -10, 'applied 10 more than acknowledged')
  t.ok(failing(script.options.thresholds).includes('counter_acked_minus_final: count==0'))

  // teardown's reads of the counter (tagged endpoint:teardown) all fail.
  const service = fakeService({ shared: true })
  reset((req) => req.params.tags?.endpoint === 'teardown'
    ? { status: 503, headers: { 'X-Instance': 'api-1' }, body: '{}', error: '', error_code: 1503 }
    : service(req))
  const second = await load('consistency', { ITERATIONS: '20', VUS: '2' })
  run(second, 20, 1)
  t.equal(stub.slept.length, 4, 'teardown retried the read (5 attempts)')
  t.strictSame(failing(second.options.thresholds).sort(), ['counter_acked_minus_final: count==0', 'counter_final_read: rate==1'])
})

t.test('consistency.js: a refused write is not read back, and fails write_failed', async (t) => {
  t.capture(console, 'log')
  const service = fakeService({ shared: true })
  reset((req) => req.method === 'POST' && req.url.includes('/kv/')
    ? { status: 503, headers: { 'X-Instance': 'api-2' }, body: '{"statusCode":503}', error: '', error_code: 1503 }
    : service(req))
  const script = await load('consistency', { ITERATIONS: '10', VUS: '2' })
  run(script, 10, 2)
  t.equal(stub.requests.filter((r) => r.params.tags?.endpoint === 'kv-get').length, 0, 'nothing to read back')
  t.equal(aggregate('write_failed').rate, 1)
  t.strictSame(failing(script.options.thresholds).sort(), ['checks: rate==1', 'write_failed: rate==0'])
})

t.test('with the stack down, setup stops every script and points at BASE_URL', async (t) => {
  t.capture(console, 'log')
  t.capture(console, 'warn')
  reset(() => ({ status: 0, headers: {}, body: '', error: 'dial tcp 127.0.0.1:80: connect: connection refused', error_code: 1212 }))
  for (const name of ['load', 'consistency', 'drill']) {
    const script = await load(name)
    t.throws(() => script.setup?.(), { message: /is the stack up at BASE_URL\?$/ }, name)
  }
  t.ok(stub.samples.some((s) => s.metric === 'responses_by_instance' && s.tags.instance === 'none'),
    'an answer without x-instance counts as instance "none"')
})

// --- drill.js -------------------------------------------------------------------------

t.test('drill.js options: steady arrival rate, zero failed requests, final == acknowledged', async (t) => {
  const { options } = await load('drill')
  t.strictSame(options.scenarios, {
    drill: { executor: 'constant-arrival-rate', rate: 200, timeUnit: '1s', duration: '60s', preAllocatedVUs: 50, maxVUs: 200 }
  })
  const th = options.thresholds
  t.strictSame(th.http_req_failed, ['rate==0'])
  t.strictSame(th.checks, ['rate==1'])
  t.strictSame(th.dropped_iterations, ['count<=0'])
  for (const endpoint of ['root', 'kv-get', 'kv-set', 'incr']) {
    t.strictSame(th[`http_req_failed{endpoint:${endpoint}}`], ['rate==0'], `failures per endpoint: ${endpoint}`)
  }
  t.strictSame(th.counter_acked_minus_final, ['count==0'])
  t.strictSame(th['responses_by_instance{instance:api-1}'], ['count>=0'])

  const custom = await load('drill', { RATE: '50', DURATION: '5m', PRE_ALLOCATED_VUS: '10', MAX_VUS: '20', DROPPED_MAX: '3', MIX: 'kv-set:1,incr:1' })
  t.strictSame(custom.options.scenarios.drill, { executor: 'constant-arrival-rate', rate: 50, timeUnit: '1s', duration: '5m', preAllocatedVUs: 10, maxVUs: 20 })
  t.strictSame(custom.options.thresholds.dropped_iterations, ['count<=3'])
  t.notOk('http_req_failed{endpoint:root}' in custom.options.thresholds)
})

t.test('drill.js against a shared store: unique Idempotency-Keys, and the ledger balances', async (t) => {
  t.capture(console, 'log')
  reset(fakeService({ shared: true }))
  const script = await load('drill')
  run(script, 400, 20)
  const mutations = stub.requests.filter((r) => r.method === 'POST' && r.params.tags?.endpoint !== 'setup')
  t.equal(mutations.length, 200, 'half the default mix mutates')
  t.equal(new Set(mutations.map((r) => r.params.headers?.['Idempotency-Key'])).size, 200, 'each with a key of its own')
  t.equal(sum('incr_acked'), 100)
  t.equal(sum('counter_acked_minus_final'), 0)
  t.strictSame(failing(script.options.thresholds), [])
})

t.test('drill.js: a lost acknowledgement shows as a failed check and an unbalanced ledger', async (t) => {
  t.capture(console, 'log')
  reset(fakeService({ shared: true, dropAckEvery: 25 }))
  const script = await load('drill')
  run(script, 400, 20)
  t.equal(sum('incr_acked'), 96)
  t.equal(sum('counter_acked_minus_final'), -4)
  t.strictSame(failing(script.options.thresholds).sort(), ['checks: rate==1', 'counter_acked_minus_final: count==0'])
})
