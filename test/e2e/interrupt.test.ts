import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { parentMap, readProcStat, withDescendants } from '../../src/lab/system/proc.js'
import { freshStackSettings } from '../../src/lab/stack/fresh.js'
import { pm2DaemonPid } from '../../src/lab/stack/pm2.js'
import { stackPorts, type StackSettings } from '../../src/lab/stack/settings.js'
import { down } from '../../src/lab/stack/stack.js'
import { daemonPid, readState, stackPaths } from '../../src/lab/stack/state.js'
import { isListening } from '../../src/lab/system/ports.js'
import { childEnv, isAlive, waitFor } from '../../src/lab/system/process.js'

// Ctrl-C in the middle of a drill that brought its own stack up, or of `up` while a
// process it spawned is still booting: everything it started — Redis, the PM2 daemon
// and apps, nginx — is stopped before it exits. And the work interrupted, which runs on
// while the cleanups do, starts nothing they would not know to stop.

/** Runs the CLI on a stack of free ports; output() is everything it printed so far. Killed at teardown if still running. */
function startCli (t: Test, settings: StackSettings, args: string[]): { child: ChildProcess, output: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/lab/cli.ts', ...args], {
    // Without tap's coverage hooks (another loader, tsx: its coverage would blur the rest).
    env: childEnv({
      STACK_DIR: settings.dir,
      LB_PORT: String(settings.lbPort),
      REDIS_PORT: String(settings.redisPort),
      API_BASE_PORT: String(settings.apiBasePort)
    }),
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout!.on('data', (chunk) => { output += chunk })
  child.stderr!.on('data', (chunk) => { output += chunk })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  return { child, output: () => output }
}

t.test('Ctrl-C during `drill kill` on a stack it brought up leaves nothing running', async (t) => {
  const settings = await freshStackSettings()
  const out = mkdtempSync(join(tmpdir(), 'sl-interrupt-'))
  t.teardown(async () => {
    await down(settings.dir, { purge: true }) // in case the test fails half-way
    rmSync(out, { recursive: true, force: true })
  })
  const { child, output } = startCli(t, settings, ['drill', 'kill', '--duration', '60s', '--out', out])

  // Wait until the load runs and a worker has been killed: the stack is fully up.
  await waitFor('the drill to kill a worker', () => /kill api-\d/.test(output()), 60_000, 100)
  const state = readState(settings.dir)!
  const pids = [daemonPid(state, 'redis')!, daemonPid(state, 'nginx')!, pm2DaemonPid(stackPaths(settings.dir).pm2Home)!]
  t.ok(pids.every((pid) => Number.isInteger(pid) && isAlive(pid)), 'Redis, nginx and the PM2 daemon run')

  child.kill('SIGINT')
  const [code] = await once(child, 'exit')
  t.equal(code, 130, 'exits 130, as after Ctrl-C')
  t.match(output(), /SIGINT: stopping what was started/)
  for (const pid of pids) t.notOk(isAlive(pid), `pid ${pid} is gone`)
  for (const port of stackPorts(settings)) {
    t.notOk(await isListening(port), `port ${port} is free`)
  }
  t.equal(readState(settings.dir), null, 'no stack recorded as up')
})

t.test('Ctrl-C during `up`, while Redis is still booting, leaves nothing running', async (t) => {
  const settings = await freshStackSettings()
  t.teardown(() => down(settings.dir, { purge: true })) // in case the test fails half-way
  const { child, output } = startCli(t, settings, ['up'])

  // The moment redis-server exists as a child of `up`, before it can answer PING.
  let redisPid: number | undefined
  await waitFor('up to spawn redis-server', () => {
    const parents = parentMap()
    redisPid = withDescendants([child.pid!], parents).find((pid) => readProcStat(pid)?.comm === 'redis-server')
    return redisPid !== undefined
  }, 30_000, 2)
  child.kill('SIGINT')
  const [code] = await once(child, 'exit')
  t.equal(code, 130, 'exits 130, as after Ctrl-C')
  t.match(output(), /SIGINT: stopping what was started/)
  t.notOk(isAlive(redisPid!), `the Redis it had just spawned (pid ${redisPid}) is gone`)
  t.notOk(await isListening(settings.redisPort), `port ${settings.redisPort} is free`)
  t.equal(readState(settings.dir), null, 'no stack recorded as up')
})

t.test('Ctrl-C: the work interrupted starts and stops nothing more while the cleanups run; the cleanups still do', async (t) => {
  // drill failover SIGINTed in its kill phase, on a stack it brought up, restarted the old
  // primary after `down` had read state.json: left running, unrecorded, on REDIS_PORT.
  // test/fixtures/interrupted-start.ts is that shape without the stack.
  const dir = mkdtempSync(join(tmpdir(), 'sl-interrupted-'))
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/interrupted-start.ts', dir], { env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (chunk) => { output += chunk })
  child.stderr.on('data', (chunk) => { output += chunk })
  const started = () => new Map([...output.matchAll(/^started (\S+) (\d+)$/gm)].map(([, name, pid]) => [name!, Number(pid)]))
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL')
    for (const pid of started().values()) if (isAlive(pid)) process.kill(pid, 'SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  })

  await waitFor('the fixture to start its processes', () => started().has('kept'), 30_000, 20)
  child.kill('SIGINT')
  const [code] = await once(child, 'exit')
  t.equal(code, 130, `exits 130, as after Ctrl-C: ${output}`)
  t.match(output, /^refused restarted: stopped while starting$/m, 'the interrupted work\'s start is refused')
  const pids = started()
  t.notOk(isAlive(pids.get('first')!), 'what was recorded before Ctrl-C is stopped')
  const leftover = pids.get('restarted')
  t.ok(leftover === undefined || !isAlive(leftover), `nothing the interrupted work started runs on (restarted: pid ${leftover ?? 'none'})`)
  t.ok(isAlive(pids.get('put-back') ?? 0), 'a cleanup still starts what it puts back')
  t.match(output, new RegExp(`^still running ${pids.get('kept')}$`, 'm'), 'the interrupted work\'s stop stops nothing')
  t.ok(isAlive(pids.get('kept')!), 'what the cleanups left running runs on')
})
