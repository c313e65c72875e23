import { once } from 'node:events'
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { spawn } from 'node:child_process'
import { createServer, request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { freePort } from '../src/lab/system/ports.js'
import { childEnv, waitFor } from '../src/lab/system/process.js'
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
  // A long grace: on a busy machine 300 ms of CPU can take seconds, and this test is
  // about what the drain does, not how long it may take.
  const server = await startServer(t, { REDIS_URL: redis.url, LOG_LEVEL: 'info', SHUTDOWN_GRACE_MS: '30000' })
  await server.ready
  const root = await fetch(`http://127.0.0.1:${server.port}/`)
  t.equal(root.status, 200)
  t.equal(root.headers.get('x-instance'), 'proc-1')

  // A request in flight when the signal arrives still gets its answer.
  // The signal is sent once the server has logged the request's arrival, not after a
  // fixed delay, which a busy machine can outrun.
  const inFlight = fetch(`http://127.0.0.1:${server.port}/work?ms=300`)
  while (!server.output().includes('"url":"/work?ms=300"')) await new Promise((resolve) => setTimeout(resolve, 5))
  server.child.kill('SIGTERM')
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

t.test('at a terminal the log is pino-pretty\'s lines, not JSON', async (t) => {
  // script(1) gives the server a pseudo-terminal as stdout; it exits when the server does.
  const port = await freePort()
  // The bundle, as PM2 runs it: pino is inside it, pino-pretty is not.
  const terminal = spawn('script', ['-q', '-e', '-c', `${process.execPath} dist/server.js`, '/dev/null'], {
    env: childEnv({ PORT: String(port), HOST: '127.0.0.1', INSTANCE_ID: 'tty-1', STORE: 'memory', LOG_LEVEL: 'info', SHOW_INTERNALS: '1' }),
    stdio: ['pipe', 'pipe', 'pipe']
  })
  t.teardown(() => { if (terminal.exitCode === null) terminal.kill('SIGKILL') })
  let output = ''
  terminal.stdout.on('data', (chunk) => { output += chunk })
  await waitFor('the server\'s first log line at the terminal', () => output.includes('Server listening'), 15_000, 20)
  t.match(output, /INFO.*\(\d+\):.*Server listening at http:\/\/127\.0\.0\.1:\d+/, 'a pretty line')
  t.match(output, /instance.*"tty-1"/)
  t.notMatch(output, /"level":30/, 'no JSON line')
  const { pid } = await (await fetch(`http://127.0.0.1:${port}/`)).json() as { pid: number }
  process.kill(pid, 'SIGTERM')
  const [code] = await once(terminal, 'exit')
  t.equal(code, 0, 'the server drained and exited 0 (script -e passes its code on)')
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

t.test('SOCKET_PATH: it serves a unix socket as well as its port, open to nginx\'s user, and still drains on SIGTERM', async (t) => {
  const redis = await startTestRedis(t)
  const dir = mkdtempSync(join(tmpdir(), 'sl-socket-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const path = join(dir, 'api.sock')
  writeFileSync(path, 'a stale file from an earlier run')
  const server = await startServer(t, { REDIS_URL: redis.url, SOCKET_PATH: path })
  await server.ready
  t.equal((await fetch(`http://127.0.0.1:${server.port}/`)).status, 200, 'the port still answers')
  const viaSocket = await getOverSocket(path, '/')
  t.equal(viaSocket.status, 200)
  t.equal(viaSocket.instance, 'proc-1', 'the same instance answers on its socket')
  t.ok(statSync(path).isSocket(), 'the stale file was replaced by the socket')
  t.equal(statSync(path).mode & 0o777, 0o777, 'readable and writable by all: nginx\'s workers run as nobody')
  server.child.kill('SIGTERM')
  const [code] = await once(server.child, 'exit')
  t.equal(code, 0, 'exited cleanly')
})

t.test('listenOnSocket: a path it cannot listen on is an error, not a hang', async (t) => {
  const { listenOnSocket } = await import('../src/lib/unix-socket.js')
  await t.rejects(listenOnSocket(createServer(), '/nonexistent-folder/api.sock'), /listen E[A-Z]+/)
})

function getOverSocket (socketPath: string, path: string): Promise<{ status: number | undefined, instance: string | string[] | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path }, (res) => {
      res.resume()
      res.on('end', () => resolve({ status: res.statusCode, instance: res.headers['x-instance'] }))
    })
    req.on('error', reject)
    req.end()
  })
}
