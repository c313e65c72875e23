import t from 'tap'
import { freePort } from '../src/lab/system/ports.js'
import { waitFor } from '../src/lab/system/process.js'
import { askNode, nodeView } from '../src/lab/system/redis-topology-status.js'
import { stopNode } from '../src/lab/system/redis-topology.js'
import { build, postJson } from './helper.js'
import { buildOnTopology, primaryPort, startTestTopology } from './topology-helper.js'

// The service in sentinel mode on a real primary + replicas + Sentinels. The
// failovers themselves are in e2e/sentinel-failover.test.ts.

t.test('sentinel mode: the service finds the primary through the Sentinels; its writes reach the replicas', async (t) => {
  const topology = await startTestTopology(t)
  const app = await buildOnTopology(t, topology)
  t.equal((await app.inject('/health/ready')).statusCode, 200)
  t.equal((await postJson(app, '/kv/greeting', { value: { text: 'hi' } })).statusCode, 201)
  t.equal((await postJson(app, '/counters/c/incr', { by: 2 })).json().value, 2)
  t.strictSame((await app.inject('/kv/greeting')).json(), { key: 'greeting', value: { text: 'hi' }, version: 1 })
  t.equal((await app.inject('/counters/c')).json().value, 2)

  const primary = await primaryPort(topology)
  t.equal(app.redis.stream.remotePort, primary, 'connected to the primary the Sentinels name')
  for (const replica of topology.nodes.filter((n) => n.kind === 'redis' && n.port !== primary)) {
    await waitFor(`${replica.name} to have the counter`, async () => (await askNode(replica.port, (c) => c.get('sl:ctr:c'))) === '2', 5000)
  }
})

t.test('durable mode: acknowledged once a replica has it; no replica in time → 503 outcome unknown, and a replay is acknowledged only once replicated', async (t) => {
  const topology = await startTestTopology(t)
  // Two instances: a replay may land on another instance than the first attempt.
  const durable = { REDIS_DURABLE: '1', REDIS_DURABLE_TIMEOUT_MS: '100' }
  const first = await buildOnTopology(t, topology, durable)
  const second = await buildOnTopology(t, topology, durable)
  const primary = await primaryPort(topology)
  const replicas = topology.nodes.filter((n) => n.kind === 'redis' && n.port !== primary)

  const ok = await postJson(first, '/counters/orders/incr', {}, { 'idempotency-key': 'order-1' })
  t.equal(ok.statusCode, 200, 'replicas up: acknowledged')
  t.equal(Number(await askNode(replicas[0]!.port, (c) => c.get('sl:ctr:orders'))), 1, 'and already on a replica when the answer came')

  // Paused replicas stay connected but acknowledge nothing.
  for (const replica of replicas) process.kill(replica.pid!, 'SIGSTOP')
  t.teardown(() => { for (const replica of replicas) { try { process.kill(replica.pid!, 'SIGCONT') } catch {} } })
  const started = performance.now()
  const unconfirmed = await postJson(first, '/counters/orders/incr', {}, { 'idempotency-key': 'order-2' })
  t.equal(unconfirmed.statusCode, 503, 'no replica confirms it: not a success')
  t.match(unconfirmed.json(), { code: 'SL_STORE_NOT_REPLICATED', message: /outcome is unknown; retry with the same Idempotency-Key/ })
  t.ok(performance.now() - started < 1500, 'and answered without hanging')
  t.equal(Number(await askNode(primary, (c) => c.get('sl:ctr:orders'))), 2, 'the primary did apply it: outcome unknown, not refused')

  // The retry lands on the other instance, whose connection never wrote the record:
  // its WAIT must still cover the record, so: 503 again. (WAIT is documented over a
  // connection's writes, hence the replay writes the record again; Redis 7.0 here
  // also counts a connection's reads, which would cover it too.)
  const replayUnconfirmed = await postJson(second, '/counters/orders/incr', {}, { 'idempotency-key': 'order-2' })
  t.equal(replayUnconfirmed.statusCode, 503, 'a replay of a write no replica has is not acknowledged either')
  t.equal(replayUnconfirmed.json().code, 'SL_STORE_NOT_REPLICATED')

  for (const replica of replicas) process.kill(replica.pid!, 'SIGCONT')
  await waitFor('the replicas to catch up', async () => {
    const view = await nodeView(primary)
    return view?.replicas?.every((r) => r.lagBytes === 0) === true
  }, 10_000)
  const replayed = await postJson(second, '/counters/orders/incr', {}, { 'idempotency-key': 'order-2' })
  t.equal(replayed.statusCode, 200, 'replicas back: the replay is acknowledged')
  t.equal(replayed.headers['idempotent-replay'], 'true')
  t.equal(replayed.json().value, 2, 'with the first answer: applied once')
  t.equal((await second.inject('/counters/orders')).json().value, 2)

  // Overflow writes nothing, so it waits for nothing: a plain 409 even in durable mode.
  await askNode(primary, (c) => c.set('sl:ctr:big', String(Number.MAX_SAFE_INTEGER)))
  t.equal((await postJson(first, '/counters/big/incr', {})).statusCode, 409)
})

t.test('durable mode with min-replicas-to-write on the primary: no replica attached → refused at once, reads unaffected', async (t) => {
  const topology = await startTestTopology(t, { minReplicasToWrite: 1 })
  const app = await buildOnTopology(t, topology, { REDIS_DURABLE: '1' })
  const primary = await primaryPort(topology)
  for (const replica of topology.nodes.filter((n) => n.kind === 'redis' && n.port !== primary)) await stopNode(topology, replica)
  await waitFor('the primary to see its replicas gone', async () => (await nodeView(primary))?.replicas?.length === 0, 5000)
  const refused = await postJson(app, '/counters/c/incr', {})
  t.equal(refused.statusCode, 503)
  t.equal(refused.json().code, 'SL_STORE_UNAVAILABLE', 'NOREPLICAS: the primary refused it before applying anything')
  t.equal(Number(await askNode(primary, (c) => c.get('sl:ctr:c'))), 0, 'nothing applied')
  t.equal((await app.inject('/counters/c')).statusCode, 200, 'reads still work')
})

t.test('sentinel mode boots with no Sentinel reachable: ready says 503, requests get fast 503s', async (t) => {
  const nobody = [await freePort(), await freePort()].map((port) => `127.0.0.1:${port}`).join(',')
  const app = await build(t, { STORE: 'redis', REDIS_MODE: 'sentinel', REDIS_SENTINELS: nobody }, { redisConnectWaitMs: 100 })
  t.equal((await app.inject('/health/ready')).statusCode, 503)
  const started = performance.now()
  const res = await postJson(app, '/counters/c/incr', {})
  t.equal(res.statusCode, 503)
  t.equal(res.json().code, 'SL_STORE_UNAVAILABLE')
  t.ok(performance.now() - started < 1500, 'at once, not after a hang')
  t.equal((await app.inject('/')).statusCode, 200, 'routes that need no store still answer')
})
