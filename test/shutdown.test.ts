import { connect } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { buildApp } from '../src/app.js'
import { testConfig } from './helper.js'

/**
 * Sends `first` on a new socket, then `then` once `after` resolves, and resolves with
 * everything received until the server closes the socket.
 */
function rawExchange (port: number, first: string, after: Promise<unknown>, then: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' }, () => socket.write(first))
    let received = ''
    socket.on('data', (chunk) => { received += chunk.toString() })
    socket.on('close', () => resolve(received))
    socket.on('error', reject)
    after.then(() => socket.write(then), reject)
  })
}

/**
 * A /slow route, and a promise of its `count`-th arrival: the tests move on when the
 * server has the requests, not after a fixed delay that a busy machine can outrun.
 */
function slowRoute (app: Awaited<ReturnType<typeof buildApp>>, count: number): Promise<void> {
  let arrived = 0
  return new Promise((resolve) => {
    app.get('/slow', async () => {
      if (++arrived === count) resolve()
      await sleep(300)
      return { done: true }
    })
  })
}

t.test('graceful close, a client reaching the instance directly: the in-flight request finishes, a new one gets 503 + Connection: close', async (t) => {
  // No balancer trusted: every peer is a client, which gets an answer.
  const app = await buildApp(testConfig({ STORE: 'memory', TRUST_PROXY: '' }))
  // I/O-bound requests that are still running when close() begins.
  const bothArrived = slowRoute(app, 2)
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const port = app.instance.port

  const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: test\r\n\r\n`
  let closingBegan = (): void => {}
  const closing = new Promise<void>((resolve) => { closingBegan = resolve })
  // On the same (busy) connection, sent once close() has begun.
  const exchange = rawExchange(port, get('/slow'), closing, get('/health/ready'))
  // A second busy connection asks for liveness while the server drains.
  const live = rawExchange(port, get('/slow'), closing, get('/health/live'))
  await bothArrived
  t.equal(app.isClosing(), false)
  const closed = app.close()
  while (!app.isClosing()) await sleep(1)
  t.equal(app.isClosing(), true, 'closing has begun')
  closingBegan()

  const raw = await exchange
  const [, liveAnswer] = (await live).split(/(?=HTTP\/1\.1 )/)
  await closed
  const [first, second] = raw.split(/(?=HTTP\/1\.1 )/)
  t.match(first, /^HTTP\/1\.1 200 /, 'the in-flight request completed')
  t.match(first, /\{"done":true\}/)
  t.match(second, /^HTTP\/1\.1 503 /, 'the request that came during close got 503')
  t.match(second, /connection: close/i, 'and Connection: close, so a balancer moves on')
  t.match(second, /x-instance: test-1/i)
  t.match(second, /"code":"SL_SHUTTING_DOWN"/)
  t.match(liveAnswer, /^HTTP\/1\.1 200 /, 'liveness still says alive while draining')
  t.match(liveAnswer, /connection: close/i, 'and closes that connection too')
})

t.test('graceful close, the balancer: a new request gets no answer, its connection is closed for nginx to retry elsewhere', async (t) => {
  // 127.0.0.1 is the balancer (TRUST_PROXY's default).
  const app = await buildApp(testConfig({ STORE: 'memory' }))
  const arrived = slowRoute(app, 1)
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const port = app.instance.port

  let closingBegan = (): void => {}
  const closing = new Promise<void>((resolve) => { closingBegan = resolve })
  const inFlight = rawExchange(port, 'GET /slow HTTP/1.1\r\nHost: test\r\n\r\n', new Promise(() => {}), '')
  // A request whose headers are still arriving when close() begins (its connection is
  // not idle, so not reaped): what nginx sending on a pooled connection looks like.
  const refused = rawExchange(port, 'POST /kv/a HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: 13\r\n', closing, '\r\n{"value":"x"}')
  // A scrape, completed once the refused request is gone (/metrics answers while draining).
  const scrape = rawExchange(port, 'GET /metrics HTTP/1.1\r\nHost: test\r\n', refused, '\r\n')
  await arrived
  // The two half-sent requests' first bytes are read by now (they were sent before /slow's).
  await sleep(50)
  const closed = app.close()
  while (!app.isClosing()) await sleep(1)
  closingBegan()
  t.equal(await refused, '', 'the connection was closed without a byte of answer')
  t.match(await scrape, /\nhttp_requests_in_flight 1\n/, 'counted out: only /slow is still in flight')
  t.match(await inFlight, /^HTTP\/1\.1 200 [\s\S]*\{"done":true\}/, 'the in-flight request completed')
  t.equal(await app.store.getKv('a'), null, 'the refused write never ran')
  await closed
})

t.test('closing with idle keep-alive connections open does not hang', async (t) => {
  const app = await buildApp(testConfig({ STORE: 'memory' }))
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = app.instance.port
  // Three keep-alive connections, each used once and then left idle.
  const idle = await Promise.all([1, 2, 3].map(() => new Promise<void>((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' }, () => socket.write('GET / HTTP/1.1\r\nHost: test\r\n\r\n'))
    socket.once('data', () => resolve())
  })))
  t.equal(idle.length, 3)
  const started = performance.now()
  await app.close()
  t.ok(performance.now() - started < 2000, 'close() returned without waiting for the keep-alive timeout (72 s)')
})

t.test('a connection that goes idle after close() began is closed too, so close() does not hang', async (t) => {
  const app = await buildApp(testConfig({ STORE: 'memory' }))
  const arrived = slowRoute(app, 1)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = app.instance.port
  // Busy when close() starts (so Node's one-time idle sweep skips it), then idle on a
  // kept-alive connection the client never closes: what a balancer's pool looks like.
  const socket = connect({ port, host: '127.0.0.1' }, () => socket.write('GET /slow HTTP/1.1\r\nHost: test\r\n\r\n'))
  t.teardown(() => { socket.destroy() })
  let answer = ''
  socket.on('data', (chunk) => { answer += chunk.toString() })
  const closedByServer = new Promise<void>((resolve) => socket.once('close', () => resolve()))
  await arrived
  const closed = app.close().then(() => 'closed' as const)
  const outcome = await Promise.race([closed, sleep(3000).then(() => 'still open after 3 s' as const)])
  t.equal(outcome, 'closed', 'close() returned without waiting for the keep-alive timeout (72 s)')
  if (outcome !== 'closed') {
    // Let close() finish (it waits for this socket) instead of holding the run for 72 s.
    socket.destroy()
    await closed
    return
  }
  await closedByServer
  t.match(answer, /^HTTP\/1\.1 200 /, 'the in-flight request still completed')
  t.notMatch(answer, /connection: close/i, 'its answer kept the connection alive, so only the server could close it')
})
