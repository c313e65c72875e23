import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import t, { type Test } from 'tap'
import { freePort } from '../src/lab/system/ports.js'
import { childEnv } from '../src/lab/system/process.js'
import { startTestRedis } from './helper.js'

// server.ts as a real process: boot, PM2's "ready" message, signals, logs.

interface Server { child: ChildProcess, port: number, output: () => string, ready: Promise<unknown> }

async function startServer (t: Test, env: Record<string, string>): Promise<Server> {
  const port = await freePort()
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    // Without tap's coverage hooks: this process runs src/ through another loader
    // (tsx), and merging its coverage with the in-process tests' would blur both.
    env: childEnv({ PORT: String(port), HOST: '127.0.0.1', INSTANCE_ID: 'proc-1', ...env }),
    stdio: ['ignore', 'pipe', 'pipe', 'ipc']
  })
  let output = ''
  child.stdout!.on('data', (chunk) => { output += chunk })
  child.stderr!.on('data', (chunk) => { output += chunk })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  const ready = new Promise((resolve) => child.on('message', (message) => { if (message === 'ready') resolve(message) }))
  return { child, port, output: () => output, ready }
}

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
