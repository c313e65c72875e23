import t, { type Test } from 'tap'
import { isAlive, waitFor } from '../../src/lab/system/process.js'
import { nodeOnPort, TOPOLOGY_DEFAULTS } from '../../src/lab/system/redis-topology.js'
import { buildOnTopology, counterOnPrimary, primaryPort, startTestTopology, writeLoop } from '../topology-helper.js'

// Failovers under a small write loop, against a real primary + 2 replicas + 3
// Sentinels (the default down-after, 600 ms). The bounds catch a client that hangs or never
// leaves the old primary, with room for a busy machine; the targets (kill ≤ 3 s,
// pause ≤ 5 s) are the failover drill's verdicts, not these tests'.
const HANG_MS = 1500
// Room for one failed election: when the Sentinels' votes split (CI saw it once, on a
// busy machine), Sentinel tries again only 2× failover-timeout after the first try.
const RECOVERY_MS = 2 * TOPOLOGY_DEFAULTS.failoverTimeoutMs + 5000

/** A topology, the service on it under a write loop, then `signal` to the primary. */
async function faultUnderWrites (t: Test, durable: boolean, counter: string, signal: NodeJS.Signals) {
  const topology = await startTestTopology(t)
  const app = await buildOnTopology(t, topology, { REDIS_DURABLE: durable ? '1' : '0' })
  const loop = writeLoop(t, app, counter)
  await waitFor('some writes before the fault', () => loop.events.filter((e) => e.status === 200).length >= 50, 5000)
  const old = nodeOnPort(topology, await primaryPort(topology))
  const faultAt = loop.now()
  process.kill(old.pid!, signal)
  return { topology, app, loop, old, faultAt }
}

for (const durable of [false, true]) {
  const mode = durable ? 'durable' : 'default'

  t.test(`${mode} mode, primary SIGKILLed: fast 503s, then writes on the promoted replica${durable ? ', and every acknowledged write survives' : ''}`, async (t) => {
    const { topology, app, loop, old, faultAt: killedAt } = await faultUnderWrites(t, durable, 'killed', 'SIGKILL')
    await waitFor('a write acknowledged by the promoted replica', () => loop.events.some((e) => e.at > killedAt && e.status === 200), RECOVERY_MS)
    await new Promise((resolve) => setTimeout(resolve, 500))
    const run = await loop.stop()

    const promoted = await primaryPort(topology)
    t.not(promoted, old.port, 'the Sentinels promoted a replica')
    t.equal(app.redis.stream.remotePort, promoted, 'and the service found it by itself')
    t.ok(run.indeterminate > 0, 'the outage was seen: some writes got a 503')
    t.equal(run.otherThan503, 0, 'every failure was a 503 (outcome unknown), nothing else')
    t.ok(run.slowestMs < HANG_MS, `no request hung (slowest ${run.slowestMs.toFixed(0)} ms)`)
    t.ok(run.recoveredAt! - killedAt < RECOVERY_MS, `writes resumed ${(run.recoveredAt! - killedAt).toFixed(0)} ms after the kill`)

    const final = await counterOnPrimary(topology, 'killed')
    t.ok(final <= run.acknowledged + run.indeterminate, 'nothing applied that no request accounts for')
    if (durable) t.ok(final >= run.acknowledged, `no acknowledged write lost (acknowledged ${run.acknowledged}, final ${final})`)
    t.comment(`${mode} kill: window ${(run.recoveredAt! - killedAt).toFixed(0)} ms, acknowledged ${run.acknowledged}, indeterminate ${run.indeterminate}, final ${final}, lost ${Math.max(0, run.acknowledged - final)}`)
  })

  t.test(`${mode} mode, primary paused (SIGSTOP): the service leaves it while it is still paused${durable ? ', and every acknowledged write survives its return' : ''}`, async (t) => {
    const { topology, app, loop, old, faultAt: pausedAt } = await faultUnderWrites(t, durable, 'paused', 'SIGSTOP')
    t.teardown(() => { try { process.kill(old.pid!, 'SIGCONT') } catch {} })
    await waitFor('a write acknowledged elsewhere while the old primary is paused', () => loop.events.some((e) => e.at > pausedAt && e.status === 200), RECOVERY_MS)
    t.ok(isAlive(old.pid!), 'the old primary is still there, paused: nobody demoted it yet')
    const promoted = await primaryPort(topology)
    t.not(promoted, old.port, 'the Sentinels promoted a replica')

    // It wakes up still believing it is the primary: the service must not go back to it.
    process.kill(old.pid!, 'SIGCONT')
    await new Promise((resolve) => setTimeout(resolve, 1500))
    const run = await loop.stop()
    t.equal(app.redis.stream.remotePort, promoted, 'the service stays on the promoted replica')
    t.equal(run.otherThan503, 0, 'every failure was a 503')
    t.ok(run.slowestMs < HANG_MS, `no request hung (slowest ${run.slowestMs.toFixed(0)} ms)`)

    const final = await counterOnPrimary(topology, 'paused')
    t.ok(final <= run.acknowledged + run.indeterminate, 'nothing applied that no request accounts for')
    if (durable) t.ok(final >= run.acknowledged, `no acknowledged write lost (acknowledged ${run.acknowledged}, final ${final})`)
    t.comment(`${mode} pause: window ${(run.recoveredAt! - pausedAt).toFixed(0)} ms, acknowledged ${run.acknowledged}, indeterminate ${run.indeterminate}, final ${final}, lost ${Math.max(0, run.acknowledged - final)}`)
  })
}
