import { connect } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { buildApp } from '../src/app.js'
import { testConfig } from './helper.js'

/** Sends raw HTTP/1.1 on one socket and resolves with everything received until the server closes it. */
function rawExchange (port: number, writes: Array<{ at: number, data: string }>): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' })
    let received = ''
    socket.on('data', (chunk) => { received += chunk.toString() })
    socket.on('close', () => resolve(received))
    socket.on('error', reject)
    for (const { at, data } of writes) setTimeout(() => socket.write(data), at)
  })
}

t.test('graceful close, a client reaching the instance directly: the in-flight request finishes, a new one gets 503 + Connection: close', async (t) => {
  // No balancer trusted: every peer is a client, which gets an answer.
  const app = await buildApp(testConfig({ STORE: 'memory', TRUST_PROXY: '' }))
  // An I/O-bound request that is still running when close() begins.
  app.get('/slow', async () => { await sleep(300); return { done: true } })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const port = app.instance.port

  const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: test\r\n\r\n`
  const exchange = rawExchange(port, [
    { at: 0, data: get('/slow') },
    // Sent on the same (busy) connection after close() has begun.
    { at: 150, data: get('/health/ready') }
  ])
  // A second busy connection asks for liveness while the server drains.
  const live = rawExchange(port, [
    { at: 0, data: get('/slow') },
    { at: 150, data: get('/health/live') }
  ])
  await sleep(50)
  t.equal(app.isClosing(), false)
  const closed = app.close()
  await sleep(20)
  t.equal(app.isClosing(), true, 'closing has begun')

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
  app.get('/slow', async () => { await sleep(300); return { done: true } })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const port = app.instance.port

  const inFlight = rawExchange(port, [{ at: 0, data: 'GET /slow HTTP/1.1\r\nHost: test\r\n\r\n' }])
  // A request whose headers are still arriving when close() begins (its connection is
  // not idle, so not reaped): what nginx sending on a pooled connection looks like.
  const refused = rawExchange(port, [
    { at: 0, data: 'POST /kv/a HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: 13\r\n' },
    { at: 150, data: '\r\n{"value":"x"}' }
  ])
  // A scrape, sent once the refused request is gone (/metrics answers while draining).
  const scrape = rawExchange(port, [
    { at: 0, data: 'GET /metrics HTTP/1.1\r\nHost: test\r\n' },
    { at: 220, data: '\r\n' }
  ])
  await sleep(50)
  const closed = app.close()
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
  app.get('/slow', async () => { await sleep(300); return { done: true } })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = app.instance.port
  // Busy when close() starts (so Node's one-time idle sweep skips it), then idle on a
  // kept-alive connection the client never closes: what a balancer's pool looks like.
  const socket = connect({ port, host: '127.0.0.1' }, () => socket.write('GET /slow HTTP/1.1\r\nHost: test\r\n\r\n'))
  t.teardown(() => { socket.destroy() })
  let answer = ''
  socket.on('data', (chunk) => { answer += chunk.toString() })
  const closedByServer = new Promise<void>((resolve) => socket.once('close', () => resolve()))
  await sleep(50)
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
