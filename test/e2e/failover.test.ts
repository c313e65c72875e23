import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { failoverFault } from '../../src/lab/drills/failover.js'
import { parseMix } from '../../src/lab/drills/mix.js'
import { runDrill } from '../../src/lab/drills/run-drill.js'
import { parseFlags } from '../../src/lab/lessons/flags.js'
import { failoverLesson } from '../../src/lab/lessons/failover.js'
import { runMeta, writeResult } from '../../src/lab/run.js'
import { askNode } from '../../src/lab/system/redis-topology-status.js'
import { redisMemory, stackRedisPassword } from '../../src/lab/stack/parts/redis.js'
import { useStack } from '../../src/lab/stack/running-stack.js'
import { status } from '../../src/lab/stack/stack.js'
import { readState } from '../../src/lab/stack/state.js'
import { maxmemoryBytes, startTestStack } from '../stack-helper.js'
import { failingRows, verdictRow } from '../verdict-helper.js'

// drill failover on a stack of its own in sentinel mode (free ports): one kill
// in default mode, one pause in durable mode, each under a few seconds of the
// drills' mixed load with the write audit. The time bounds are loosened to what
// a busy machine holds (the drill's defaults are the targets, judged by
// a full run); the audit's rules are not, and durable mode's loss is judged.

// Each failover waits for Sentinel to make the old primary a replica again (8–18 s), and a
// shared machine stretches every step: more room than .taprc's 300 s.
t.setTimeout(15 * 60_000)

const load = { mix: parseMix('root:10,kv-get:30,kv-set:30,incr:30'), connections: 16, rate: 600 }

t.test('drill failover against one stack in sentinel mode', async (t) => {
  const test = await startTestStack(t, { redisMode: 'sentinel' })
  const { settings } = test
  const out = mkdtempSync(join(tmpdir(), 'sl-failover-'))
  const lines: string[] = []
  const io = { say: (line: string) => { lines.push(line) } }
  const meta = await runMeta(out)

  t.test('drill failover, default mode: one kill under load; the promotion, the window, and the loss reported', async (t) => {
    const stack = await useStack(failoverLesson.stack!(parseFlags(failoverLesson.options, {})), io.say, settings.dir)
    t.teardown(() => stack.release())
    const fault = failoverFault(stack, { count: 1, pause: false, pauseSeconds: 0, writeWithinMs: 15_000, failureP99BoundMs: 5000 })
    const result = await runDrill(stack, fault, load, meta, io)
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
    const stack = await useStack(failoverLesson.stack!(flags), io.say, settings.dir)
    t.teardown(() => stack.release())
    t.ok(stack.settings.durable && stack.settings.minReplicasToWrite === 1, 'durable mode on the instances and the primary')
    const primary = (await status(settings.dir)).replicated!.primaryPort!
    t.equal(await askNode(primary, (c) => c.config('GET', 'min-replicas-to-write'), 1000, stackRedisPassword(settings)).then((r) => (r as string[])[1]), '1', 'the running primary was given min-replicas-to-write')
    const fault = failoverFault(stack, { count: flags.count, pause: flags.pause, pauseSeconds: flags.pauseFor, writeWithinMs: 15_000, failureP99BoundMs: 10_000 })
    const result = await runDrill(stack, fault, load, meta, io)
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
})
