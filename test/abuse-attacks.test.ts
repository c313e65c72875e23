// The abuse drill's attacker against a plain Node server on 127.0.0.1 (no stack):
// its requests come from the addresses it says, at the rate it says, within its
// time; its half-sent headers are held, and renewed when the server drops them;
// and its process runs an attack and gives back what it saw.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net'
import t, { type Test } from 'tap'
import { flood, halfOpenFlood, runAttack } from '../src/lab/drills/abuse-attacks.js'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { MessageChannel } from 'node:worker_threads'
import { floodIn, halfOpenIn, serveAttacks, startAttacker } from '../src/lab/drills/abuse-worker.js'
import { wireConnection } from '../src/lab/drills/abuse-wire.js'
import { isAlive } from '../src/lab/system/process.js'

async function server (t: Test, handle: (req: IncomingMessage, res: ServerResponse) => void) {
  const peers: string[] = []
  // Timeouts checked every 100 ms (Node's default: every 30 s).
  const s = createServer({ connectionsCheckingInterval: 100 }, (req, res) => {
    peers.push(req.socket.remoteAddress ?? '')
    handle(req, res)
  })
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => {
    s.closeAllConnections()
    s.close(() => resolve())
  }))
  return { server: s, url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, peers }
}

t.test('flood: from its address, on its schedule, bounded in time', async (t) => {
  const { url, peers } = await server(t, (req, res) => { res.statusCode = req.url === '/refuse' ? 429 : 200; res.end('{}') })
  const stats = await flood({ url, concurrency: 8, rate: 200, durationMs: 500, from: () => '127.0.0.2', request: () => ({ method: 'GET', path: '/refuse' }) })
  // Never ahead of its schedule (200/s × 0.5 s, the first at 0); a busy machine
  // can only put it behind (22 were sent at load 14), so that is not asserted.
  t.ok(stats.sent >= 1 && stats.sent <= 101, `${stats.sent} sent at 200 req/s for 0.5 s (at most 101)`)
  t.equal(stats.byStatus['429'], stats.sent, 'every answer counted by its status')
  t.equal(stats.latenciesMs['429']?.length, stats.sent)
  t.ok(peers.every((p) => p === '127.0.0.2'), 'the server saw the attacker\'s address only')
  t.ok(stats.durationMs < 1500)
})

t.test('runAttack: a body flood from many addresses, and which writes were acknowledged', async (t) => {
  const { url, peers } = await server(t, (req, res) => {
    let bytes = 0
    req.on('data', (chunk: Buffer) => { bytes += chunk.length })
    req.on('end', () => { res.statusCode = bytes > 60_000 && req.url!.endsWith('3') ? 201 : 400; res.end('{}') })
  })
  const outcome = await runAttack({ kind: 'flood', url, concurrency: 5, durationMs: 300, from: 'many', method: 'POST', path: '/kv/w{i}', body: 'value64k' })
  if (outcome.kind !== 'flood') throw new Error('a flood answers as a flood')
  t.ok(outcome.stats.sent > 5)
  t.ok(outcome.acknowledged.length > 0 && outcome.acknowledged.every((i) => String(i).endsWith('3')), 'the 2xx ones, by number')
  t.strictSame([...new Set(peers)].sort(), ['127.0.1.1', '127.0.1.2', '127.0.1.3', '127.0.1.4', '127.0.1.5'])
  const single = await runAttack({ kind: 'flood', url, concurrency: 2, rate: 40, durationMs: 100, from: '127.0.0.9', method: 'GET', path: '/x' })
  t.equal(single.kind, 'flood')
  t.equal(peers.at(-1), '127.0.0.9', 'one address for all')
})

t.test('halfOpenFlood: holds its sockets, renews the ones the server drops', async (t) => {
  const { server: s, url } = await server(t, (_req, res) => { res.end() })
  // The server gives a header 300 ms (nginx's client_header_timeout, shortened).
  s.headersTimeout = 300
  s.requestTimeout = 300
  const stats = await halfOpenFlood({ url, from: '127.0.0.2', sockets: 50, durationMs: 1200 })
  t.equal(stats.peakHeld, 50)
  t.equal(stats.connectErrors, 0)
  t.ok(stats.closedByServerAfterMs.length > 0, `${stats.closedByServerAfterMs.length} closed by the server`)
  t.ok(stats.opened > 50, `renewed: ${stats.opened} opened`)
})

t.test('the attacker\'s process runs attacks one after another, in a session of its own, and stops', async (t) => {
  const { url, peers } = await server(t, (_req, res) => { res.statusCode = 404; res.end('{}') })
  const attacker = await startAttacker()
  t.teardown(() => attacker.stop())
  // /proc/<pid>/stat: "pid (comm) state ppid pgrp session ...".
  const sessionOf = (pid: number | 'self') => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')[3])
  t.equal(sessionOf(attacker.pid), attacker.pid, 'a session of its own (so a scheduling group of its own)')
  t.not(sessionOf('self'), attacker.pid)
  t.ok(readFileSync(`/proc/${attacker.pid}/cmdline`, 'utf8').split('\0').includes('--expose-gc'), 'each attack can start on a clean heap')
  const first = await floodIn(attacker, { url, concurrency: 2, rate: 50, durationMs: 200, from: '127.0.0.3', method: 'GET', path: '/x{i}' })
  t.equal(first.stats.byStatus['404'], first.stats.sent)
  const second = await halfOpenIn(attacker, { url, from: '127.0.0.3', sockets: 3, durationMs: 100 })
  t.equal(second.peakHeld, 3)
  await t.rejects(halfOpenIn({ run: async () => ({ kind: 'flood' as const, ...first }), stop: async () => {}, pid: 0 }, { url, from: '127.0.0.3', sockets: 1, durationMs: 10 }), /another attack/)
  await t.rejects(floodIn({ run: async () => ({ kind: 'half-open', stats: second }), stop: async () => {}, pid: 0 }, { url, concurrency: 1, durationMs: 10, from: '127.0.0.3', method: 'GET', path: '/' }), /another attack/)
  t.ok(peers.length > 0 && peers.every((p) => p === '127.0.0.3'))
  await attacker.stop()
  t.notOk(isAlive(attacker.pid), 'stopped by its pid')
  await t.rejects(attacker.run({ kind: 'half-open', url, from: '127.0.0.3', sockets: 1, durationMs: 10 }), /has stopped/, 'no attack once stopped')
})

t.test('serveAttacks: the attacker\'s side, over a message channel', async (t) => {
  const { url } = await server(t, (_req, res) => { res.end('{}') })
  const { port1, port2 } = new MessageChannel()
  t.teardown(() => { port1.close(); port2.close() })
  serveAttacks(port2)
  t.strictSame(await once(port1, 'message'), ['ready'])
  port1.postMessage({ kind: 'half-open', url, from: '127.0.0.2', sockets: 2, durationMs: 50 })
  const [outcome] = await once(port1, 'message') as [{ kind: string, stats: { peakHeld: number } }]
  t.equal(outcome.kind, 'half-open')
  t.equal(outcome.stats.peakHeld, 2)
})

t.test('wireConnection: keep-alive, chunked and closing answers, a new connection when the server closed it, and a timeout', async (t) => {
  let connections = 0
  const { server: s, url } = await server(t, (req, res) => {
    if (req.url === '/chunked') {
      res.write('{"a":')
      setTimeout(() => res.end('1}'), 20)
    } else {
      if (req.url === '/close') res.setHeader('connection', 'close')
      res.statusCode = 429
      res.end('{}')
    }
  })
  s.on('connection', () => connections++)
  const port = Number(new URL(url).port)
  const wire = wireConnection('127.0.0.1', port, '127.0.0.2')
  t.teardown(() => wire.close())
  const chunked = await wire.send({ method: 'GET', path: '/chunked' }, 2000)
  t.equal(chunked.status, 200)
  t.ok(chunked.latencyMs >= 15, `timed to the answer's last chunk: ${chunked.latencyMs.toFixed(1)} ms`)
  t.equal((await wire.send({ method: 'POST', path: '/x', body: '{}' }, 2000)).status, 429)
  t.equal(connections, 1, 'one connection kept alive')
  t.equal((await wire.send({ method: 'GET', path: '/close' }, 2000)).status, 429)
  t.equal((await wire.send({ method: 'GET', path: '/x' }, 2000)).status, 429)
  t.equal(connections, 2, 'a new one after the server closed it')

  // A server that answers without a length (the body ends with the connection), then one that never answers.
  const raw = createNetServer((socket: Socket) => {
    socket.once('data', (data) => { if (data.toString().startsWith('GET /old')) socket.end('HTTP/1.0 200 OK\r\n\r\nuntil the end') })
  })
  await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => raw.close(() => resolve())))
  const rawWire = wireConnection('127.0.0.1', (raw.address() as AddressInfo).port, '127.0.0.2')
  t.teardown(() => rawWire.close())
  t.equal((await rawWire.send({ method: 'GET', path: '/old' }, 2000)).status, 200, 'complete at the close')
  const silent = await rawWire.send({ method: 'GET', path: '/silent' }, 100)
  t.equal(silent.status, 0, 'no answer in time')
  t.ok(silent.latencyMs >= 90)
})
