import { once } from 'node:events'
import t from 'tap'
import { freePort } from '../src/lab/system/ports.js'
import { startTestRedis } from './helper.js'
import { startServer } from './server-process.js'

// server.ts as a real process: boot, PM2's "ready" message, signals, logs.

t.test('a bad configuration exits 1 with a message naming the variable', async (t) => {
  const server = await startServer(t, { PORT: 'eighty' })
  const [code] = await once(server.child, 'exit')
  t.equal(code, 1)
  t.match(server.output(), /Invalid configuration: env\/PORT must be integer/)
})

t.test('under PM2 it says ready once listening; SIGTERM drains then exits 0', async (t) => {
  const redis = await startTestRedis(t)
  const server = await startServer(t, { REDIS_URL: redis.url, LOG_LEVEL: 'info' })
  await server.ready
  const root = await fetch(`http://127.0.0.1:${server.port}/`)
  t.equal(root.status, 200)
  t.equal(root.headers.get('x-instance'), 'proc-1')

  // A request in flight when the signal arrives still gets its answer.
  const inFlight = fetch(`http://127.0.0.1:${server.port}/work?ms=300`)
  setTimeout(() => server.child.kill('SIGTERM'), 50)
  const res = await inFlight
  t.equal(res.status, 200)
  t.equal((await res.json() as { ms: number }).ms, 300)
  const [code] = await once(server.child, 'exit')
  t.equal(code, 0, 'exited cleanly, before any SIGKILL')

  const lines = server.output().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l))
  t.ok(lines.some((l) => l.msg === 'request completed'), 'JSON request logs at info')
  t.ok(lines.some((l) => l.msg === 'closing' && l.signal === 'SIGTERM'), 'the drain is logged')
  t.ok(lines.every((l) => l.instance === 'proc-1'), 'every line names the instance')
})

t.test('at warn there are no per-request logs', async (t) => {
  const server = await startServer(t, { STORE: 'memory', LOG_LEVEL: 'warn' })
  await server.ready
  for (let i = 0; i < 5; i++) await (await fetch(`http://127.0.0.1:${server.port}/`)).text()
  server.child.kill('SIGINT')
  const [code] = await once(server.child, 'exit')
  t.equal(code, 0)
  t.equal(server.output().trim(), '', 'nothing at all was logged')
})

t.test('it starts while Redis is down (ready 503), instead of crashing', async (t) => {
  const deadPort = await freePort()
  const server = await startServer(t, { REDIS_URL: `redis://127.0.0.1:${deadPort}`, LOG_LEVEL: 'warn' })
  await server.ready
  t.equal((await fetch(`http://127.0.0.1:${server.port}/health/ready`)).status, 503)
  t.equal((await fetch(`http://127.0.0.1:${server.port}/health/live`)).status, 200)
  t.match(server.output(), /redis unreachable at boot; starting anyway/)
  server.child.kill('SIGTERM')
  const [code] = await once(server.child, 'exit')
  t.equal(code, 0)
})
