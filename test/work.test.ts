import { Writable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import t, { type Test } from 'tap'
import { waitFor } from '../src/lab/system/process.js'
import type { App } from '../src/app.js'
import { build, startTestRedis } from './helper.js'
import { startServer } from './server-process.js'

// Finding 4 of issue 15: GET /work must not be a weapon. Its hashing yields to the
// event loop, stops when the client has gone, and runs with bounded concurrency and
// a short queue: what cannot start soon enough is refused at once (503 SL_OVERLOADED).

/** The app listening on a free port (work is abandoned only when a real socket closes). */
async function listening (t: Test, overrides: Record<string, string> = {}, logLines?: string[]): Promise<{ app: App, url: string }> {
  const logger = logLines
    ? { level: 'debug', stream: new Writable({ write (chunk, _enc, done) { logLines.push(String(chunk)); done() } }) }
    : false
  const app = await build(t, { STORE: 'memory', ...overrides }, { logger })
  await app.listen({ host: '127.0.0.1', port: 0 })
  return { app, url: `http://127.0.0.1:${app.instance.port}` }
}

t.test('other requests are answered while a long piece of work runs', async (t) => {
  const { url } = await listening(t)
  const finished: string[] = []
  const work = fetch(`${url}/work?ms=400`).then(async (r) => { finished.push('work'); return r.status })
  await sleep(50) // the work has started
  const live = await fetch(`${url}/health/live`)
  finished.push('live')
  t.equal(live.status, 200)
  t.equal(await work, 200)
  t.strictSame(finished, ['live', 'work'], 'the liveness check did not wait for the hashing')
})

t.test('work beyond the concurrency and the queue is refused at once with 503 and Retry-After', async (t) => {
  const app = await build(t, { STORE: 'memory', WORK_CONCURRENCY: '1', WORK_QUEUE: '1', WORK_QUEUE_MS: '5000' })
  const running = app.inject('/work?ms=300')
  const queued = app.inject('/work?ms=1')
  await sleep(20)
  const refused = await app.inject('/work?ms=1')
  t.equal(refused.statusCode, 503)
  t.equal(refused.headers['retry-after'], '1')
  t.equal(refused.headers['x-instance'], 'test-1')
  t.strictSame(refused.json(), {
    statusCode: 503,
    code: 'SL_OVERLOADED',
    error: 'Service Unavailable',
    message: 'This instance has more work than it can start soon; retry later or elsewhere'
  })
  t.equal((await running).statusCode, 200)
  t.equal((await queued).statusCode, 200, 'the queued one ran once a slot was free')
  t.equal((await app.inject('/work?ms=1')).statusCode, 200, 'and the instance takes work again')
})

t.test('work that waits in the queue longer than WORK_QUEUE_MS is refused', async (t) => {
  const app = await build(t, { STORE: 'memory', WORK_CONCURRENCY: '1', WORK_QUEUE: '8', WORK_QUEUE_MS: '20' })
  const running = app.inject('/work?ms=300')
  await sleep(5)
  const waited = await app.inject('/work?ms=1')
  t.equal(waited.statusCode, 503)
  t.match(waited.json(), { code: 'SL_OVERLOADED' })
  t.equal((await running).statusCode, 200)
})

t.test('WORK_SHED=0 admits everything (the "before" picture of an overload)', async (t) => {
  const app = await build(t, { STORE: 'memory', WORK_CONCURRENCY: '1', WORK_QUEUE: '0', WORK_SHED: '0' })
  const answers = await Promise.all(Array.from({ length: 4 }, () => app.inject('/work?ms=20')))
  t.strictSame(answers.map((r) => r.statusCode), [200, 200, 200, 200])
})

t.test('work whose client has gone is stopped, and its slot freed', async (t) => {
  const lines: string[] = []
  const { url } = await listening(t, { WORK_CONCURRENCY: '1', WORK_QUEUE: '0' }, lines)
  const controller = new AbortController()
  const abandoned = fetch(`${url}/work?ms=999`, { signal: controller.signal }).catch((err: Error) => err.name)
  await sleep(100)
  controller.abort()
  t.equal(await abandoned, 'AbortError')
  await waitFor('the abandoned work to stop', () => lines.some((l) => l.includes('work abandoned')), 5000, 10)
  const entry = JSON.parse(lines.find((l) => l.includes('work abandoned'))!) as { ms: number, doneMs: number }
  t.equal(entry.ms, 999)
  t.ok(entry.doneMs < 999, `stopped after ${entry.doneMs} of 999 ms of hashing`)
  const next = await fetch(`${url}/work?ms=1`)
  t.equal(next.status, 200, 'the one slot is free again')
})

t.test("the Redis client's liveness is not confused by long work (finding 4)", async (t) => {
  // Before: the hashing ran in one piece and held the event loop for seconds; a
  // Redis reply sat unread while ioredis' timers fired, so it dropped a healthy
  // connection ("redis connection lost") and unrelated routes waited or got 503.
  // The server runs as a process of its own here, so the test's client is not held too.
  const redis = await startTestRedis(t)
  const server = await startServer(t, { STORE: 'redis', REDIS_URL: redis.url, LOG_LEVEL: 'warn', WORK_SHED: '0' })
  await server.ready
  const url = `http://127.0.0.1:${server.port}`
  let worksDone = 0
  const works = Array.from({ length: 4 }, () => fetch(`${url}/work?ms=999`).then((r) => { worksDone++; return r.status }))
  const reads: Array<Promise<[number, number]>> = []
  for (let i = 0; i < 20; i++) {
    reads.push(fetch(`${url}/kv/unrelated`).then((r) => [r.status, worksDone]))
    await sleep(50)
  }
  const answered = await Promise.all(reads)
  t.strictSame(answered.map(([status]) => status), answered.map(() => 404), 'every read answered (404: no such key), none got 503')
  t.ok(answered.every(([, done]) => done === 0), 'each read was answered before any work finished')
  t.strictSame(await Promise.all(works), Array(4).fill(200))
  t.notMatch(server.output(), /redis connection lost/, 'the connection to Redis was never dropped')
})
