import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { frozenTries, shortestGap } from '../src/lab/drills/frozen-tries.js'
import { parseAccessLine, readAccessLog } from '../src/lab/stack/access-log.js'
import { freePort } from '../src/lab/system/ports.js'
import { listenerPids } from '../src/lab/system/proc.js'
import { decide, probeLive, Watchdog, type TargetState, type WatchEvent } from '../src/lab/watchdog/watchdog.js'

const state = (misses: number, replacing = false): TargetState => ({ misses, replacing: replacing ? { pid: 1, atMs: 0 } : null })

t.test('decide: one silent instance past its misses is killed; never several at once, nor while one is replaced, nor when nobody answered', async (t) => {
  const config = { misses: 3 }
  const answered = (silent: string[]) => new Map(['a', 'b', 'c'].map((n) => [n, silent.includes(n) ? 'silent' as const : 'answered' as const]))
  t.strictSame(decide(config, new Map([['a', state(3)], ['b', state(0)], ['c', state(0)]]), answered(['a'])), { kill: ['a'], hold: [] })
  t.strictSame(decide(config, new Map([['a', state(2)], ['b', state(0)], ['c', state(0)]]), answered(['a'])), { kill: [], hold: [] }, 'not yet')
  t.strictSame(decide(config, new Map([['a', state(3)], ['b', state(5)], ['c', state(0)]]), answered(['a', 'b'])), { kill: ['b'], hold: ['a'] }, 'the longest silent first, one at a time')
  t.strictSame(decide(config, new Map([['a', state(3)], ['b', state(0, true)], ['c', state(0)]]), answered(['a'])), { kill: [], hold: ['a'] }, 'held while b is replaced')
  t.strictSame(decide(config, new Map([['a', state(3)], ['b', state(3)], ['c', state(3)]]), answered(['a', 'b', 'c'])), { kill: [], hold: ['a', 'b', 'c'] }, 'nobody answered: the machine stalled')
  t.strictSame(decide(config, new Map([['a', state(3)]]), new Map([['a', 'silent' as const]])), { kill: ['a'], hold: [] }, 'a lone instance')
})

t.test('probeLive: an answer, a refused connection, silence', async (t) => {
  const server = createServer((req, res) => { if (req.url === '/health/live') res.end('{}') })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.closeAllConnections(); server.close() })
  const port = (server.address() as { port: number }).port
  t.equal(await probeLive(port, 1000), 'answered')
  const silent = createServer(() => {})
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { silent.closeAllConnections(); silent.close() })
  t.equal(await probeLive((silent.address() as { port: number }).port, 200), 'silent')
  t.equal(await probeLive(await freePort(), 1000), 'refused')
})

t.test('the watchdog SIGKILLs a frozen (SIGSTOPped) process by the port it listens on, and logs it', async (t) => {
  const port = await freePort()
  const child = spawn(process.execPath, ['-e', `require('node:http').createServer((q, s) => s.end('{}')).listen(${port}, '127.0.0.1', () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] })
  t.teardown(() => { try { child.kill('SIGKILL') } catch {} })
  await new Promise((resolve) => child.stdout.once('data', resolve))
  t.strictSame(listenerPids(port), [child.pid], 'found by its listening socket')
  const dir = mkdtempSync(join(tmpdir(), 'sl-watchdog-'))
  const files = { eventsFile: join(dir, 'events.jsonl'), statusFile: join(dir, 'status.json') }
  const watchdog = new Watchdog({ targets: [{ name: 'app', port }], intervalMs: 100, timeoutMs: 100, misses: 2, ...files })
  await watchdog.round()
  t.equal(await probeLive(port, 1000), 'answered')
  child.kill('SIGSTOP')
  const exited = new Promise((resolve) => child.once('exit', (_code, signal) => resolve(signal)))
  for (let i = 0; i < 3; i++) await watchdog.round()
  t.equal(await Promise.race([exited, sleep(5000).then(() => 'still there')]), 'SIGKILL')
  const events = readFileSync(files.eventsFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as WatchEvent)
  t.match(events.find((e) => e.event === 'kill'), { target: 'app', pid: child.pid, misses: 2 })
  t.match(JSON.parse(readFileSync(files.statusFile, 'utf8')), { pid: process.pid, targets: [{ name: 'app', replacing: true }] })
  watchdog.configure({ targets: [], intervalMs: 100, timeoutMs: 100, misses: 2, ...files })
  watchdog.start()
  watchdog.stop()
})

t.test("nginx's access log: tries per request, and which ones paid for a frozen instance", async (t) => {
  const line = (t: number, upstream: string, ustatus: string, utime: string, status = 200) =>
    `127.0.0.1 [30/Nov/2026:19:00:00 +0000] "GET /kv/a HTTP/1.1" ${status} 12 0.510 rid=x ik=- upstream=${upstream} ustatus=${ustatus} utime=${utime} t=${t.toFixed(3)}`
  const parsed = parseAccessLine(line(100.51, '127.0.0.1:3001, 127.0.0.1:3002', '504, 200', '0.500, 0.010'))
  t.match(parsed, { method: 'GET', path: '/kv/a', status: 200, tries: [{ address: '127.0.0.1:3001', status: 504, ms: 500 }, { address: '127.0.0.1:3002', status: 200 }] })
  t.equal(parsed!.startedAtMs, 100_000)
  t.equal(parseAccessLine('something else'), null)
  const lines = [
    line(100.51, '127.0.0.1:3001, 127.0.0.1:3002', '504, 200', '0.500, 0.010'),
    line(100.62, '127.0.0.1:3002', '200', '0.010'),
    line(101.60, '127.0.0.1:3001, 127.0.0.1:3003', '504, 200', '0.500, 0.010'),
    line(102.70, '127.0.0.1:3001, 127.0.0.1:3003', '504, 200', '0.500, 0.010')
  ].map((l) => parseAccessLine(l)!)
  const tries = frozenTries(lines, '127.0.0.1:3001', 99_000, 110_000)
  t.equal(tries.detectedAtMs, 100_500, 'when the first try on it timed out')
  t.equal(tries.paidAtMs.length, 3)
  t.strictSame(tries.afterDetectionAtMs, [101_090, 102_190])
  t.equal(shortestGap(tries.afterDetectionAtMs), 1100)
  t.equal(shortestGap([1]), null)
  // Frozen at 100.2 s: the request sent at 100.01 s was on it and timed out after the
  // freeze (it counts, and is the detection); one that failed before the freeze does not.
  const atFreeze = frozenTries(lines, '127.0.0.1:3001', 100_200, 110_000)
  t.equal(atFreeze.detectedAtMs, 100_500, 'a request already on the instance when it froze is the detection')
  t.equal(atFreeze.paidAtMs.length, 3)
  t.equal(frozenTries(lines, '127.0.0.1:3001', 100_600, 110_000).detectedAtMs, 101_590, 'a try that failed before the freeze is not counted')
  t.strictSame(readAccessLog(join(tmpdir(), 'no-such-access.log'), 0), [])
})
