import { execFile } from 'node:child_process'
import { request } from 'node:http'
import { connect } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { buildApp, type App } from '../src/app.js'
import { waitFor } from '../src/lab/system/process.js'
import { ConfigError } from '../src/config.js'
import { ObservedStore } from '../src/store/observed-store.js'
import { PROCESS_METRICS } from '../src/lib/process-metrics.js'
import { send } from './edge-helper.js'
import { build, postJson, startTestRedis, testConfig } from './helper.js'

/** The samples of a scrape: each series (name and labels, as written) and its value. */
function samples (text: string): Map<string, number> {
  const series = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const at = line.lastIndexOf(' ')
    series.set(line.slice(0, at), Number(line.slice(at + 1)))
  }
  return series
}

async function scrape (app: App): Promise<Map<string, number>> {
  const res = await app.inject('/metrics')
  if (res.statusCode !== 200) throw new Error(`GET /metrics → ${res.statusCode}`)
  return samples(res.body)
}

/** The count of an http_request_duration_seconds series (0 when absent). */
function requests (series: Map<string, number>, method: string, route: string, status: number): number {
  return series.get(`http_request_duration_seconds_count{method="${method}",route="${route}",status_code="${status}"}`) ?? 0
}

function storeCalls (series: Map<string, number>, operation: string, outcome: string): number {
  return series.get(`store_operation_duration_seconds_count{operation="${operation}",outcome="${outcome}"}`) ?? 0
}

/** promtool's verdict on a scrape: Prometheus' own parser and linter. */
function promtool (text: string): Promise<{ code: number, output: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile('promtool', ['check', 'metrics'], (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : NaN
      if (Number.isNaN(code)) reject(err)
      else resolve({ code, output: stdout + stderr })
    })
    child.stdin?.end(text)
  })
}

const redis = await startTestRedis(t)

t.test('GET /metrics: Prometheus text that Prometheus parses, with the request histogram, Node metrics and the service gauges', async (t) => {
  const app = await build(t, { STORE: 'redis', REDIS_URL: redis.url })
  await postJson(app, '/kv/greeting', { value: 'hi' })
  await app.inject('/kv/greeting')
  await app.inject('/kv/greeting')

  const res = await app.inject('/metrics')
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/)
  t.equal(res.headers['x-instance'], 'test-1')
  const series = samples(res.body)
  t.equal(requests(series, 'GET', '/kv/:key', 200), 2, 'two GETs of /kv/:key, by route template')
  t.equal(requests(series, 'POST', '/kv/:key', 201), 1)
  t.ok(series.has('http_request_duration_seconds_bucket{le="0.0005",method="GET",route="/kv/:key",status_code="200"}'), 'the smallest bucket is 0.5 ms')
  t.ok(series.has('http_request_duration_seconds_bucket{le="10",method="GET",route="/kv/:key",status_code="200"}'), 'the largest is 10 s')
  for (const name of ['nodejs_eventloop_lag_seconds', 'nodejs_eventloop_lag_p99_seconds', 'nodejs_eventloop_active_seconds_total', 'nodejs_heap_size_used_bytes', 'process_cpu_seconds_total']) {
    t.ok(series.has(name), name)
  }
  t.match(res.body, /# TYPE nodejs_gc_duration_seconds histogram/)
  t.equal(series.get('http_requests_in_flight'), 0, 'nothing in flight but the scrape, which does not count')
  t.equal(series.get('service_draining'), 0)
  t.equal(storeCalls(series, 'getKv', 'ok'), 2)
  t.equal(storeCalls(series, 'setKv', 'ok'), 1)
  t.ok(series.get('nodejs_eventloop_active_seconds_total')! > 0, 'the event loop has been busy')

  const { code, output } = await promtool(res.body)
  t.notMatch(output, /error while linting/, 'promtool parses it')
  // prom-client's "..._total" gauges drew promtool's only remarks; they are among the defaults dropped.
  t.equal(output.trim(), '', 'promtool has no remark')
  t.equal(code, 0)
  // By their TYPE lines: a histogram with no observation yet (no GC so far) has no sample.
  const processFamilies = [...res.body.matchAll(/^# TYPE ((?:process|nodejs)_\w+)/gm)].map((match) => match[1])
  t.strictSame(processFamilies.sort(), [...PROCESS_METRICS].sort(),
    'of the process metrics, exactly the ones kept (no file descriptors, handles, heap spaces, version, virtual memory, mean or stddev of the lag)')
})

t.test('route labels are templates, one fixed value for what matched no route; scrapes are not traffic', async (t) => {
  const app = await build(t, { STORE: 'redis', REDIS_URL: redis.url })
  await app.inject('/kv/some-key')
  await app.inject('/counters/some-name')
  await app.inject('/no/such/path?x=1')
  await app.inject({ method: 'DELETE', url: '/kv/some-key' })
  await app.inject('/metrics')
  const series = await scrape(app)
  t.equal(requests(series, 'GET', '/kv/:key', 404), 1, 'a missing key is the route\'s own 404')
  t.equal(requests(series, 'GET', '/counters/:name', 200), 1)
  t.equal(requests(series, 'GET', 'unmatched', 404), 1)
  t.equal(requests(series, 'DELETE', 'unmatched', 404), 1)
  t.equal(requests(series, 'GET', '/metrics', 200), 0, 'GET /metrics is not in the histogram')
  const routes = new Set([...series.keys()].flatMap((key) => /route="([^"]*)"/.exec(key)?.[1] ?? []))
  t.strictSame([...routes].sort(), ['/counters/:name', '/kv/:key', 'unmatched'])
})

t.test('each app has a registry of its own: two apps in one process never count each other\'s requests', async (t) => {
  const one = await build(t, { STORE: 'redis', REDIS_URL: redis.url })
  const two = await build(t, { STORE: 'redis', REDIS_URL: redis.url, INSTANCE_ID: 'test-2' })
  for (let i = 0; i < 3; i++) await one.inject('/kv/a')
  await two.inject('/counters/b')
  const [first, second] = [await scrape(one), await scrape(two)]
  t.equal(requests(first, 'GET', '/kv/:key', 404), 3)
  t.equal(requests(second, 'GET', '/kv/:key', 404), 0)
  t.equal(requests(first, 'GET', '/counters/:name', 200), 0)
  t.equal(requests(second, 'GET', '/counters/:name', 200), 1)
  t.equal(storeCalls(second, 'getKv', 'ok'), 0)
  t.ok(first.has('nodejs_heap_size_used_bytes') && second.has('nodejs_heap_size_used_bytes'), 'both carry the process\'s metrics')
})

t.test('the heap gauges: V8 heap statistics, read without process.memoryUsage() (its costliest call)', async (t) => {
  const app = await build(t, { STORE: 'memory' })
  const memoryUsage = process.memoryUsage
  let called = 0
  process.memoryUsage = Object.assign(() => { called++; return memoryUsage() }, { rss: memoryUsage.rss })
  t.teardown(() => { process.memoryUsage = memoryUsage })
  const series = await scrape(app)
  process.memoryUsage = memoryUsage
  t.equal(called, 0, 'a scrape never calls process.memoryUsage()')
  const [total, used, external] = ['nodejs_heap_size_total_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_external_memory_bytes'].map((name) => series.get(name) ?? NaN) as [number, number, number]
  const now = memoryUsage()
  t.ok(used > 0 && used <= total, `used ${used} ≤ total ${total}`)
  t.ok(Math.abs(total - now.heapTotal) <= 0.5 * now.heapTotal, `total ${total} is the heap process.memoryUsage() reports (${now.heapTotal})`)
  t.ok(external > 0, `external ${external}`)
})

t.test('cardinality is bounded: 10,000 distinct keys and counter names add no series', async (t) => {
  // The memory store: labels do not depend on the store, and a busy machine's Redis
  // timeouts would add (bounded) 503 series that have nothing to do with keys.
  const app = await build(t, { STORE: 'memory' })
  const requestsFor = (i: number) => [
    app.inject(`/kv/key-${i}`),
    postJson(app, `/counters/name-${i}/incr`, { by: 1 }),
    app.inject(`/no-route-${i}`)
  ]
  // One request of each kind first, so that every label combination the loop uses exists.
  await Promise.all(requestsFor(-1))
  // The series traffic could add. (The process's own come and go with what it runs,
  // GC kinds and handle types, from fixed sets.)
  const seriesOf = (scraped: Map<string, number>) => [...scraped.keys()].filter((key) => /^(http|store|service)_/.test(key))
  const before = await scrape(app)

  for (let i = 0; i < 10_000; i += 100) {
    await Promise.all(Array.from({ length: 100 }, (_, j) => requestsFor(i + j)).flat())
  }
  const after = await scrape(app)
  t.equal(requests(after, 'GET', '/kv/:key', 404) - requests(before, 'GET', '/kv/:key', 404), 10_000, 'the 10,000 keys were asked for')
  t.equal(requests(after, 'POST', '/counters/:name/incr', 200) - requests(before, 'POST', '/counters/:name/incr', 200), 10_000, 'the 10,000 counters incremented')
  t.equal(requests(after, 'GET', 'unmatched', 404) - requests(before, 'GET', 'unmatched', 404), 10_000, 'and 10,000 distinct unknown paths')
  t.strictSame(seriesOf(after).filter((key) => !before.has(key)), [], 'no new series')
  t.equal(seriesOf(after).length, seriesOf(before).length)
  t.comment(`series in one scrape after 10,000 keys, counter names and unknown paths: ${after.size}, of which the service's own ${seriesOf(after).length}`)
})

t.test('store outcomes per operation: ok, idempotent replay, refused, unavailable (503)', async (t) => {
  const own = await startTestRedis(t)
  const app = await build(t, { STORE: 'redis', REDIS_URL: own.url })
  const key = { 'idempotency-key': 'order-1' }
  await postJson(app, '/counters/c/incr', { by: 2 }, key)
  t.equal((await postJson(app, '/counters/c/incr', { by: 2 }, key)).headers['idempotent-replay'], 'true')
  t.equal((await postJson(app, '/counters/other/incr', { by: 2 }, key)).statusCode, 422, 'the key reused for another counter')
  await own.stop()
  t.equal((await app.inject('/kv/k')).statusCode, 503)
  t.equal((await app.inject('/health/ready')).statusCode, 503)

  const series = await scrape(app)
  t.equal(storeCalls(series, 'incrCounter', 'ok'), 1)
  t.equal(storeCalls(series, 'incrCounter', 'replayed'), 1)
  t.equal(storeCalls(series, 'incrCounter', 'refused'), 1)
  t.equal(storeCalls(series, 'getKv', 'unavailable'), 1)
  t.equal(storeCalls(series, 'ping', 'unavailable'), 1)
  t.equal(requests(series, 'GET', '/kv/:key', 503), 1, 'and the 503 it caused')
  t.ok(series.get('store_operation_duration_seconds_sum{operation="incrCounter",outcome="ok"}')! > 0, 'each with its duration')
})

t.test('durable mode: a write no replica confirmed is its own outcome, not_replicated', async (t) => {
  // A lone Redis has no replica: WAIT 1 returns 0 after the timeout, so every write is a 503.
  const app = await build(t, { STORE: 'redis', REDIS_URL: redis.url, REDIS_DURABLE: '1', REDIS_DURABLE_TIMEOUT_MS: '10' })
  const res = await postJson(app, '/counters/durable/incr', {})
  t.equal(res.statusCode, 503)
  t.equal(res.json().code, 'SL_STORE_NOT_REPLICATED')
  const series = await scrape(app)
  t.equal(storeCalls(series, 'incrCounter', 'not_replicated'), 1)
  t.equal(storeCalls(series, 'incrCounter', 'error'), 0)
})

t.test('a store error that is a bug, not an outage, is counted as an error', async (t) => {
  const app = await build(t, { STORE: 'redis', REDIS_URL: redis.url })
  // A key of the wrong type makes the script fail with a reply error: a 500.
  await app.redis.set('sl:kv:wrong-type', 'a string, not a hash')
  t.equal((await app.inject('/kv/wrong-type')).statusCode, 500)
  t.equal(storeCalls(await scrape(app), 'getKv', 'error'), 1)
})

t.test('in flight: counted while running, counted out when answered or when the client gives up', async (t) => {
  const app = await buildApp(testConfig({ STORE: 'memory' }))
  app.get('/slow', async () => { await sleep(500); return { done: true } })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const inFlight = async () => (await scrape(app)).get('http_requests_in_flight')
  const slow = () => {
    const req = request({ host: '127.0.0.1', port: app.instance.port, path: '/slow' })
    const done = new Promise<void>((resolve) => {
      req.on('response', (res) => { res.resume(); res.on('end', resolve) })
      req.on('error', () => resolve())
    })
    req.end()
    return { req, done }
  }

  const requests = [slow(), slow(), slow()]
  await waitFor('three requests in flight', async () => await inFlight() === 3, 5000)
  requests[2]!.req.destroy()
  await waitFor('the one its client dropped counted out', async () => await inFlight() === 2, 5000)
  await Promise.all(requests.map(({ done }) => done))
  const series = await scrape(app)
  t.equal(series.get('http_requests_in_flight'), 0, 'none left')
  t.equal(series.get('http_request_duration_seconds_count{method="GET",route="/slow",status_code="200"}'), 2, 'the histogram has the two answered ones')
})

t.test('while draining, /metrics still answers, with service_draining 1', async (t) => {
  const app = await buildApp(testConfig({ STORE: 'memory' }))
  app.get('/slow', async () => { await sleep(500); return { done: true } })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  t.equal((await scrape(app)).get('service_draining'), 0)

  // One connection, busy with /slow when close() begins; a scrape pipelined on it then.
  const socket = connect({ port: app.instance.port, host: '127.0.0.1' })
  let received = ''
  socket.on('data', (chunk) => { received += chunk.toString() })
  const ended = new Promise((resolve) => socket.on('close', resolve))
  socket.write('GET /slow HTTP/1.1\r\nHost: test\r\n\r\n')
  await waitFor('/slow in flight', async () => (await scrape(app)).get('http_requests_in_flight') === 1, 5000)
  const closed = app.close()
  await waitFor('the drain to begin', () => app.isClosing(), 5000)
  socket.write('GET /metrics HTTP/1.1\r\nHost: test\r\n\r\n')
  await ended
  await closed
  const [slow, metrics] = received.split(/(?=HTTP\/1\.1 )/)
  t.match(slow, /^HTTP\/1\.1 200 /)
  t.match(metrics, /^HTTP\/1\.1 200 /, 'GET /metrics answered during the drain')
  t.match(metrics, /\nservice_draining 1\n/)
})

t.test('a scraped instance drains, then waits for one more scrape before it stops listening (METRICS_FINAL_SCRAPE_MS)', async (t) => {
  // Every peer a client (no balancer), so that requests during the drain get answers.
  const app = await buildApp(testConfig({ STORE: 'memory', TRUST_PROXY: '', METRICS_FINAL_SCRAPE_MS: '10000' }))
  app.get('/slow', async () => { await sleep(300); return { done: true } })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  // A new connection each time, as a scraper whose idle one the drain has closed.
  const scrapeOverHttp = async () => samples((await send(app.instance.port, '/metrics')).body)
  await scrapeOverHttp()
  const slow = fetch(`http://127.0.0.1:${app.instance.port}/slow`).then((res) => res.json())
  await waitFor('/slow in flight', async () => (await scrapeOverHttp()).get('http_requests_in_flight') === 1, 5000)

  let closed = false
  const closing = app.close().then(() => { closed = true })
  await waitFor('the drain to begin', () => app.isClosing(), 5000)
  t.equal((await scrapeOverHttp()).get('http_requests_in_flight'), 1, 'a scrape while a request is in flight does not end the wait')
  t.strictSame(await slow, { done: true })
  await sleep(200)
  t.equal(closed, false, 'the last request answered, the drain still listens: no scrape has seen it yet')
  const last = await scrapeOverHttp()
  t.equal(requests(last, 'GET', '/slow', 200), 1, 'the final scrape holds the last request')
  t.equal(last.get('service_draining'), 1)
  await closing
  t.equal(closed, true, 'and then the instance stops')

  // Never scraped (or not within METRICS_FINAL_SCRAPE_MS): nothing to wait for.
  const unwatched = await buildApp(testConfig({ STORE: 'memory', METRICS_FINAL_SCRAPE_MS: '10000' }))
  await unwatched.listen({ port: 0, host: '127.0.0.1' })
  t.equal(await Promise.race([unwatched.close().then(() => 'closed'), sleep(5000).then(() => 'waiting')]), 'closed', 'an unscraped instance closes at once')
})

t.test('METRICS=0: no /metrics route, no hooks, the store used as is', async (t) => {
  const app = await build(t, { STORE: 'redis', REDIS_URL: redis.url, METRICS: '0' })
  t.equal((await app.inject('/metrics')).statusCode, 404)
  t.notMatch(app.printPlugins(), /metrics/, 'the metrics plugin is not registered')
  t.notOk(app.store instanceof ObservedStore)
  t.equal((await app.inject('/kv/a')).statusCode, 404, 'the service works as before')

  const on = await build(t, { STORE: 'redis', REDIS_URL: redis.url })
  t.ok(on.store instanceof ObservedStore, 'with METRICS=1 (the default) the store reports')
  t.equal(on.store.kind, 'redis')
})

t.test('METRICS takes 1 or 0 and nothing else', async (t) => {
  t.equal(testConfig({ METRICS: '0' }).METRICS, 0)
  t.equal(testConfig().METRICS, 1, 'on by default')
  t.throws(() => testConfig({ METRICS: 'off' }), ConfigError)
  t.throws(() => testConfig({ METRICS: 'true' }), ConfigError)
  t.throws(() => testConfig({ METRICS: '2' }), ConfigError)
})
