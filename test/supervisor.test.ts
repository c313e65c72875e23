import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { freePort } from '../src/lab/system/ports.js'
import { startTimeOf } from '../src/lab/system/proc.js'
import { childEnv, isAlive, stopPid, waitFor } from '../src/lab/system/process.js'
import { pingRedis } from '../src/lab/system/redis-client.js'
import { Supervisor, type DaemonSpec, type ProcessRecord, type Role } from '../src/lab/system/supervisor.js'

// Real processes (node -e, sleep), started and stopped through the supervisor.

function scratch (t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'sl-supervisor-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/**
 * A node process that notes its name in <dir>/stopped when SIGTERM stops it, and
 * is ready once its handler is in place; `body` runs first.
 */
function nodeSpec (dir: string, name: string, role: Role, body = ''): DaemonSpec {
  const ready = join(dir, `${name}.ready`)
  const script = [
    "const fs = require('node:fs')",
    `process.on('SIGTERM', () => { fs.appendFileSync(${JSON.stringify(join(dir, 'stopped'))}, ${JSON.stringify(name)} + '\\n'); process.exit(0) })`,
    body,
    `fs.writeFileSync(${JSON.stringify(ready)}, '')`,
    'setInterval(() => {}, 1000)'
  ].join('\n')
  return { name, role, command: process.execPath, args: ['-e', script], logFile: join(dir, `${name}.log`), env: childEnv(), ready: () => existsSync(ready), waitingFor: `${name} to be ready` }
}

function stoppedOrder (dir: string): string[] {
  const file = join(dir, 'stopped')
  return existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n') : []
}

t.test('records each process at spawn, before it is ready, and stops them by role: watchers, balancers, servers, monitors, stores', async (t) => {
  const dir = scratch(t)
  const atSpawn: Array<{ name: string, alive: boolean, ready: boolean }> = []
  const supervisor = new Supervisor({
    detached: false,
    onChange: (records) => {
      for (const record of Object.values(records)) {
        if (atSpawn.some((s) => s.name === record.name)) continue
        atSpawn.push({ name: record.name, alive: isAlive(record.pid), ready: existsSync(join(dir, `${record.name}.ready`)) })
      }
    }
  })
  t.teardown(() => supervisor.stop())
  for (const [name, role] of [['store', 'store'], ['server', 'server'], ['balancer', 'balancer'], ['observer', 'observer'], ['monitor', 'monitor']] as const) {
    const record = await supervisor.start(nodeSpec(dir, name, role))
    t.ok(supervisor.isRunning(name), `${name} runs once start() resolved`)
    t.match(record, { name, role, pid: Number, startTime: Number, stopSignal: 'SIGTERM' })
  }
  t.strictSame(atSpawn.map((s) => [s.name, s.alive, s.ready]), ['store', 'server', 'balancer', 'observer', 'monitor'].map((n) => [n, true, false]),
    'every process was recorded alive, before it was ready')
  t.strictSame(await supervisor.stop(), [], 'nothing left running')
  t.strictSame(stoppedOrder(dir), ['observer', 'balancer', 'server', 'monitor', 'store'])
  t.strictSame(supervisor.processes.map((p) => p.name), ['store', 'server', 'balancer', 'observer', 'monitor'], 'the records stay, in start order')
  t.notOk(supervisor.isRunning('store'))
})

t.test('a process that exits at start: the error quotes its log', async (t) => {
  const dir = scratch(t)
  const supervisor = new Supervisor({ detached: false })
  await t.rejects(supervisor.start(nodeSpec(dir, 'broken', 'server', "console.error('bad setting on line 3'); process.exit(1)")),
    { name: 'StartError', message: /broken exited at start: bad setting on line 3/ })
})

t.test('a process that never gets ready: a StartError after the timeout, and it is stopped', async (t) => {
  const dir = scratch(t)
  const supervisor = new Supervisor({ detached: false })
  const spec = { ...nodeSpec(dir, 'slow', 'server'), ready: () => false, readyTimeoutMs: 300 }
  await t.rejects(supervisor.start(spec), { name: 'StartError', message: /timed out after 300 ms waiting for slow to be ready/ })
  t.notOk(isAlive(supervisor.record('slow')!.pid), 'the process is gone')
})

t.test('close() while a start waits: the start gives up, stops its process, and nothing starts after', async (t) => {
  const dir = scratch(t)
  const supervisor = new Supervisor({ detached: false })
  const starting = supervisor.start({ ...nodeSpec(dir, 'waiting', 'server'), ready: () => false })
  await waitFor('the process to be recorded', () => supervisor.record('waiting') !== undefined, 5000)
  supervisor.close()
  await t.rejects(starting, { name: 'StartError', message: 'stopped while starting' })
  t.notOk(isAlive(supervisor.record('waiting')!.pid))
  await t.rejects(supervisor.start(nodeSpec(dir, 'later', 'server')), { message: 'stopped while starting' })
  t.equal(supervisor.record('later'), undefined, 'nothing was spawned')
})

t.test('a name already running cannot be started twice', async (t) => {
  const dir = scratch(t)
  const supervisor = new Supervisor({ detached: false })
  t.teardown(() => supervisor.stop())
  const first = await supervisor.start(nodeSpec(dir, 'once', 'server'))
  await t.rejects(supervisor.start(nodeSpec(dir, 'once', 'server')), { message: `once already runs (pid ${first.pid})` })
})

t.test('children that outlive their parent are swept', async (t) => {
  const dir = scratch(t)
  const supervisor = new Supervisor({ detached: false })
  // The parent leaves its child behind when SIGTERM stops it (as a killed nginx master would its workers).
  const record = await supervisor.start(nodeSpec(dir, 'parent', 'balancer', "require('node:child_process').spawn('sleep', ['60'], { stdio: 'ignore' })"))
  t.equal(record.children.length, 1, 'its child was seen once it was ready')
  const child = record.children[0]!.pid
  t.strictSame(await supervisor.stop(), [])
  t.notOk(isAlive(child), `the child (pid ${child}) is gone too`)
})

t.test('a signal for this stop only (the Redis drill\'s SIGKILL), then the same name starts again', async (t) => {
  const dir = scratch(t)
  const supervisor = new Supervisor({ detached: false })
  t.teardown(() => supervisor.stop())
  const first = await supervisor.start(nodeSpec(dir, 'redis-like', 'store'))
  await supervisor.stop(['redis-like'], { signal: 'SIGKILL' })
  t.notOk(isAlive(first.pid))
  t.strictSame(stoppedOrder(dir), [], 'SIGKILL: its SIGTERM handler never ran')
  const second = await supervisor.start(nodeSpec(dir, 'redis-like', 'store'))
  t.not(second.pid, first.pid)
  t.equal(supervisor.processes.length, 1, 'one record per name')
})

t.test('adopted records: a later supervisor stops what an earlier one started, never a process that reuses its PID', async (t) => {
  const dir = scratch(t)
  let saved: Record<string, ProcessRecord> = {}
  const first = new Supervisor({ detached: true, onChange: (records) => { saved = structuredClone(records) } })
  const started = await first.start(nodeSpec(dir, 'daemon', 'store'))
  t.teardown(() => stopPid(started.pid))

  // Another process's PID with another start time: someone else's now.
  const other = spawn('sleep', ['60'], { stdio: 'ignore' })
  t.teardown(() => { other.kill('SIGKILL') })
  const otherStart = startTimeOf(other.pid!)
  t.ok(otherStart !== null)
  const impostor: ProcessRecord = { ...saved.daemon!, name: 'gone', pid: other.pid!, startTime: otherStart! - 1 }
  const later = new Supervisor({ detached: true, adopt: { ...saved, gone: impostor } })
  t.ok(later.isRunning('daemon'), 'the adopted daemon is recognised')
  t.notOk(later.isRunning('gone'), 'a PID with another start time is not ours')
  t.strictSame(await later.stop(), [])
  t.notOk(isAlive(started.pid), 'the adopted daemon is stopped')
  t.ok(isAlive(other.pid!), 'the process that reuses a recorded PID is left alone')
})

t.test('PING through ioredis: false, and quickly, where no Redis listens', async (t) => {
  t.equal(await pingRedis(await freePort()), false)
})
