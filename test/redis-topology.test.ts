import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { busyPorts } from '../src/lab/system/ports.js'
import { isAlive } from '../src/lab/system/process.js'
import { configsReusable } from '../src/lab/system/redis-topology-config.js'
import { askNode, parseReplication, primaryPortFrom } from '../src/lab/system/redis-topology-status.js'
import {
  nodeOnPort, sentinelAddresses, startNode, startTopology, stopNode, stopTopology, TOPOLOGY_DEFAULTS, topologyPids, topologyStatus, type TopologyNode
} from '../src/lab/system/redis-topology.js'

t.test('a primary, two replicas and three Sentinels: PIDs reported at spawn, in sync, agreed on; all stopped by PID', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'scale-lab-topology-'))
  const reported: Array<Pick<TopologyNode, 'name' | 'pid'>> = []
  const topology = await startTopology({ dir, detached: false, downAfterMs: 2000, onSpawn: (node) => reported.push({ name: node.name, pid: node.pid }) })
  t.teardown(async () => { await stopTopology(topology); rmSync(dir, { recursive: true, force: true }) })

  t.strictSame(reported.map((r) => r.name), ['redis-1', 'redis-2', 'redis-3', 'sentinel-1', 'sentinel-2', 'sentinel-3'], 'each node reported as it was spawned')
  t.strictSame(reported.map((r) => r.pid), topologyPids(topology), 'with the PIDs the topology runs')
  t.ok(topologyPids(topology).every(isAlive))

  const status = await topologyStatus(topology)
  const [primary, ...replicas] = status.nodes
  t.equal(primary?.view?.role, 'primary', 'redis-1 starts as the primary')
  t.strictSame(primary?.view?.replicas?.map((r) => r.port).sort(), replicas.map((r) => r.port).sort(), 'and sees both replicas')
  for (const replica of replicas) t.match(replica.view, { role: 'replica', primaryPort: primary?.port, linkUp: true }, `${replica.name} replicates from it`)
  for (const sentinel of status.sentinels) {
    t.match(sentinel.view, { primaryPort: primary?.port, flags: 'master', replicas: 2, otherSentinels: 2, quorum: 2 }, `Sentinel ${sentinel.port} agrees`)
  }
  t.equal(await primaryPortFrom(sentinelAddresses(topology)[0]!.port, topology.masterName), primary?.port)

  // Each node has its own folder with its config and an AOF; the Sentinels were given the tuning.
  const sentinelConf = readFileSync(join(dir, 'sentinel-1', 'sentinel.conf'), 'utf8')
  t.match(sentinelConf, /sentinel down-after-milliseconds scale-lab 2000/)
  // The ping period is in no file: each running Sentinel was given it.
  for (const { port } of sentinelAddresses(topology)) {
    const debug = await askNode(port, (c) => c.call('SENTINEL', 'DEBUG')) as Array<string | number>
    t.equal(Number(debug[debug.indexOf('PING-PERIOD') + 1]), TOPOLOGY_DEFAULTS.pingPeriodMs, `Sentinel ${port}: the ping period`)
  }
  t.match(readFileSync(join(dir, 'redis-2', 'redis.conf'), 'utf8'), new RegExp(`replicaof 127.0.0.1 ${primary?.port}`))
  t.equal(await askNode(primary!.port, (c) => c.config('GET', 'appendonly')).then((r) => (r as string[])[1]), 'yes')
  // Without credentials anyone may connect (the stack's topology has them: test/e2e/stack-sentinel.test.ts),
  // and files without the password are not reused by a topology that has one: they are written afresh.
  t.equal(topology.password, undefined)
  t.ok(configsReusable(topology.nodes), 'files for these ports: reusable')
  t.notOk(configsReusable(topology.nodes, { admin: 'an-admin-password', service: 'a-service-password' }), 'but not with a password they lack')

  // A write on the primary reaches the replicas.
  await askNode(primary!.port, (c) => c.set('k', 'v'))
  for (const replica of replicas) {
    let value: string | null = null
    for (let i = 0; i < 50 && value !== 'v'; i++) value = await askNode(replica.port, (c) => c.get('k'))
    t.equal(value, 'v', `${replica.name} has the write`)
  }
  t.equal(nodeOnPort(topology, primary!.port).name, 'redis-1')
  t.throws(() => nodeOnPort(topology, 1), /no redis node/)

  const pids = topologyPids(topology)
  const ports = topology.nodes.map((n) => n.port)
  await stopTopology(topology)
  t.ok(pids.every((pid) => !isAlive(pid)), 'every process is gone')
  t.strictSame(await busyPorts(ports), [], 'and every port is free')
  t.strictSame(topologyPids(topology), [])
})

t.test('a node stopped and started again rejoins from its config file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'scale-lab-topology-'))
  const topology = await startTopology({ dir, detached: false, replicas: 1, sentinels: 1 })
  t.teardown(async () => { await stopTopology(topology); rmSync(dir, { recursive: true, force: true }) })
  const replica = topology.nodes[1]!
  await stopNode(topology, replica)
  t.equal(replica.pid, undefined)
  t.equal(await askNode(replica.port, (c) => c.ping()), null, 'a node that is down answers null')
  const pid = await startNode(topology, replica)
  t.equal(replica.pid, pid, 'the node knows its new PID')
  t.ok(topology.supervisor.isRunning(replica.name), 'and the supervisor runs it')
  const view = await topologyStatus(topology)
  t.equal(view.sentinels[0]?.view?.quorum, 1, 'one Sentinel: a quorum of one')
  t.equal(view.nodes[1]?.view?.role, 'replica')
})

t.test('INFO replication is read into roles, offsets and lag', async (t) => {
  const primary = parseReplication([
    '# Replication', 'role:master', 'connected_slaves:2',
    'slave0:ip=127.0.0.1,port=7001,state=online,offset=90,lag=0',
    'slave1:ip=127.0.0.1,port=7002,state=wait_bgsave,offset=0,lag=3',
    'master_repl_offset:100', ''
  ].join('\r\n'))
  t.strictSame(primary, {
    role: 'primary',
    offset: 100,
    replicas: [
      { port: 7001, state: 'online', offset: 90, lagBytes: 10, lagSeconds: 0 },
      { port: 7002, state: 'wait_bgsave', offset: 0, lagBytes: 100, lagSeconds: 3 }
    ]
  })
  t.strictSame(parseReplication('role:slave\r\nmaster_port:7000\r\nmaster_link_status:down\r\nslave_repl_offset:42\r\n'), {
    role: 'replica', offset: 42, primaryPort: 7000, linkUp: false
  })
})
