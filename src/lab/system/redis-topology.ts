import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { DEFAULT_REDIS_MASTER_NAME } from '../../shared/contract.js'
import { requireBinary } from './binaries.js'
import { freePort } from './ports.js'
import { waitFor } from './process.js'
import { answersPing, nodeView, sentinelView, type NodeView, type SentinelView } from './redis-topology-status.js'
import { Supervisor, type DaemonSpec } from './supervisor.js'

/**
 * A replicated Redis on this machine: one primary, N replicas, M Sentinels, each
 * its own process on a free 127.0.0.1 port, with AOF and a folder of its own
 * (config, AOF, log). Sentinels watch the primary and promote a replica when it
 * stops answering; after that "redis-1" is just a name, not the primary.
 */
export interface TopologyOptions {
  /** One folder per node is made below it. */
  dir: string
  replicas?: number
  sentinels?: number
  masterName?: string
  /** How long the primary may not answer before a Sentinel calls it down (subjectively). */
  downAfterMs?: number
  /** Bounds a failover's steps; also how long before a failed one is tried again. */
  failoverTimeoutMs?: number
  /** Sentinels that must agree the primary is down before a failover starts (default: a majority). */
  quorum?: number
  /** The primary refuses writes (NOREPLICAS) with fewer replicas than this connected and within minReplicasMaxLagS. */
  minReplicasToWrite?: number
  minReplicasMaxLagS?: number
  appendfsync?: 'always' | 'everysec' | 'no'
  /**
   * The supervisor the nodes start under (the stack's, which persists them). Without one the
   * topology makes its own: detached (outliving the caller) or attached (dying with it, tests).
   */
  supervisor?: Supervisor
  detached?: boolean
  /** Called for each node the moment its process is spawned, before it answers (with a supervisor of the topology's own). */
  onSpawn?: (node: TopologyNode) => void
  /** How long to wait for replicas in sync and Sentinels in agreement. */
  readyTimeoutMs?: number
}

export interface TopologyNode {
  /** "redis-1" (the first primary), "redis-2"..., "sentinel-1"... */
  name: string
  kind: 'redis' | 'sentinel'
  port: number
  /** Its folder: config file, AOF, log. */
  dir: string
  /** Undefined until spawned, and after stop. */
  pid?: number
}

export interface Topology {
  masterName: string
  nodes: TopologyNode[]
  /** Starts and stops the nodes (roles: Sentinels are monitors, stopped before the stores). */
  supervisor: Supervisor
}

type Tunable = 'replicas' | 'sentinels' | 'downAfterMs' | 'failoverTimeoutMs' | 'minReplicasToWrite' | 'minReplicasMaxLagS' | 'appendfsync' | 'readyTimeoutMs'

export const TOPOLOGY_DEFAULTS: Required<Pick<TopologyOptions, Tunable>> = {
  replicas: 2,
  sentinels: 3,
  // Down after 1 s of silence: the trial's value, failover in ~2.2 s. Sentinel's own default (30 s) is for WANs.
  downAfterMs: 1000,
  // Bounds each step of a failover, and delays a retry of a failed one by twice this.
  failoverTimeoutMs: 5000,
  minReplicasToWrite: 0,
  minReplicasMaxLagS: 10,
  appendfsync: 'everysec',
  readyTimeoutMs: 30_000
}

/** Every PID the topology has running. */
export function topologyPids (topology: Topology): number[] {
  return topology.nodes.flatMap((node) => node.pid === undefined ? [] : [node.pid])
}

/** The Sentinels as ioredis wants them (`sentinels` option) and REDIS_SENTINELS spells them. */
export function sentinelAddresses (topology: Topology): Array<{ host: string, port: number }> {
  return topology.nodes.filter((n) => n.kind === 'sentinel').map((n) => ({ host: '127.0.0.1', port: n.port }))
}

/** The redis node listening on `port` (to SIGKILL the current primary, say). */
export function nodeOnPort (topology: Topology, port: number): TopologyNode {
  const node = topology.nodes.find((n) => n.kind === 'redis' && n.port === port)
  if (!node) throw new Error(`no redis node of this topology listens on ${port}`)
  return node
}

/**
 * Plans the topology (ports, folders, config files), starts it, and resolves once
 * every replica is in sync and every Sentinel knows the primary, all replicas and
 * all other Sentinels. On any failure everything started is stopped, then the error
 * is thrown.
 */
export async function startTopology (options: TopologyOptions): Promise<Topology> {
  const o = { ...TOPOLOGY_DEFAULTS, ...options }
  const nodes: TopologyNode[] = []
  const topology: Topology = { masterName: options.masterName ?? DEFAULT_REDIS_MASTER_NAME, nodes, supervisor: options.supervisor ?? ownSupervisor(options, nodes) }
  const quorum = options.quorum ?? Math.floor(o.sentinels / 2) + 1
  try {
    const primary = await planNode(topology, o.dir, 'redis-1', 'redis')
    const replicas: TopologyNode[] = []
    for (let i = 0; i < o.replicas; i++) replicas.push(await planNode(topology, o.dir, `redis-${i + 2}`, 'redis'))
    for (const node of [primary, ...replicas]) {
      writeFileSync(confPath(node), redisConf(node, o, node === primary ? undefined : primary.port))
    }
    for (let i = 0; i < o.sentinels; i++) {
      const node = await planNode(topology, o.dir, `sentinel-${i + 1}`, 'sentinel')
      writeFileSync(confPath(node), sentinelConf(node, topology.masterName, primary.port, quorum, o))
    }

    for (const node of [primary, ...replicas]) await startNode(topology, node)
    // Sentinels last: they learn the replicas from the primary's INFO when they connect
    // (then only every 10 s), so replicas already attached are known at once.
    await waitFor('replicas in sync with the primary', async () => {
      const views = await Promise.all(replicas.map((r) => nodeView(r.port)))
      return views.every((v) => v?.role === 'replica' && v.linkUp)
    }, o.readyTimeoutMs, 100)
    for (const node of topology.nodes.filter((n) => n.kind === 'sentinel')) await startNode(topology, node)
    await waitFor(`the Sentinels to agree on the primary ${primary.port}, ${o.replicas} replica(s), ${o.sentinels} Sentinel(s)`, async () => {
      const views = await Promise.all(sentinelAddresses(topology).map((s) => sentinelView(s.port, topology.masterName)))
      return views.every((v) => v !== null && v.primaryPort === primary.port && v.flags === 'master' &&
        v.replicas === o.replicas && v.otherSentinels === o.sentinels - 1)
    }, o.readyTimeoutMs, 100)
  } catch (err) {
    await stopTopology(topology)
    throw err
  }
  return topology
}

/** A supervisor of the topology's own, telling `onSpawn` of each of `nodes` the moment it is spawned. */
function ownSupervisor (options: Pick<TopologyOptions, 'detached' | 'onSpawn'>, nodes: readonly TopologyNode[]): Supervisor {
  const reported = new Map<string, number>()
  return new Supervisor({
    detached: options.detached ?? false,
    onChange: (records) => {
      for (const record of Object.values(records)) {
        const node = nodes.find((n) => n.name === record.name)
        if (node === undefined || reported.get(record.name) === record.pid) continue
        reported.set(record.name, record.pid)
        node.pid = record.pid
        options.onSpawn?.(node)
      }
    }
  })
}

/** How the supervisor starts a node: redis-server with its config file (a Sentinel with --sentinel). */
function nodeSpec (node: TopologyNode): DaemonSpec {
  const logFile = join(node.dir, `${node.kind}.log`)
  return {
    name: node.name,
    // Monitors stop before stores: no Sentinel starts a failover because the primary went away.
    role: node.kind === 'sentinel' ? 'monitor' : 'store',
    command: requireBinary('redis-server'),
    args: node.kind === 'sentinel' ? [confPath(node), '--sentinel'] : [confPath(node)],
    logFile,
    port: node.port,
    ready: () => answersPing(node.port),
    waitingFor: `${node.name} on port ${node.port} (log: ${logFile})`,
    graceMs: 10_000
  }
}

/**
 * Starts one node from its config file (first start, or again after a kill: a
 * former primary comes back, Sentinel makes it a replica of the new one). Resolves
 * once it answers PING; on timeout it is stopped and the error thrown.
 */
export async function startNode (topology: Topology, node: TopologyNode): Promise<number> {
  const record = await topology.supervisor.start(nodeSpec(node))
  node.pid = record.pid
  return record.pid
}

/** Stops one node by its PID (SIGTERM, then SIGKILL; or `signal`: a SIGKILLed primary). */
export async function stopNode (topology: Topology, node: TopologyNode, signal?: NodeJS.Signals): Promise<void> {
  await topology.supervisor.stop([node.name], signal === undefined ? {} : { signal })
  node.pid = undefined
}

/**
 * Stops every node: Sentinels first (the supervisor's role order), so none starts
 * a failover because the primary went away while the rest stop.
 */
export async function stopTopology (topology: Topology): Promise<void> {
  await topology.supervisor.stop(topology.nodes.map((n) => n.name))
  for (const node of topology.nodes) node.pid = undefined
}

/** What every node and every Sentinel says now (null for a node that does not answer). */
export async function topologyStatus (topology: Topology): Promise<{ nodes: Array<TopologyNode & { view: NodeView | null }>, sentinels: Array<{ port: number, view: SentinelView | null }> }> {
  const redis = topology.nodes.filter((n) => n.kind === 'redis')
  const views = await Promise.all(redis.map((n) => nodeView(n.port)))
  const sentinels = await Promise.all(sentinelAddresses(topology).map(async (s) => ({ port: s.port, view: await sentinelView(s.port, topology.masterName) })))
  return { nodes: redis.map((n, i) => ({ ...n, view: views[i] ?? null })), sentinels }
}

async function planNode (topology: Topology, root: string, name: string, kind: TopologyNode['kind']): Promise<TopologyNode> {
  const node: TopologyNode = { name, kind, port: await freePort(), dir: join(root, name) }
  mkdirSync(node.dir, { recursive: true })
  topology.nodes.push(node)
  return node
}

function confPath (node: TopologyNode): string {
  return join(node.dir, `${node.kind}.conf`)
}

type Settings = TopologyOptions & typeof TOPOLOGY_DEFAULTS

function redisConf (node: TopologyNode, o: Settings, primaryPort?: number): string {
  return [
    `port ${node.port}`,
    'bind 127.0.0.1',
    'daemonize no',
    `dir ${node.dir}`,
    'save ""',
    'appendonly yes',
    `appendfsync ${o.appendfsync}`,
    'loglevel notice',
    // A (re)joining replica syncs at once instead of waiting 5 s for others to share the transfer.
    'repl-diskless-sync-delay 0',
    `min-replicas-to-write ${o.minReplicasToWrite}`,
    `min-replicas-max-lag ${o.minReplicasMaxLagS}`,
    ...(primaryPort === undefined ? [] : [`replicaof 127.0.0.1 ${primaryPort}`]),
    ''
  ].join('\n')
}

function sentinelConf (node: TopologyNode, masterName: string, primaryPort: number, quorum: number, o: Settings): string {
  return [
    `port ${node.port}`,
    'bind 127.0.0.1',
    'daemonize no',
    `dir ${node.dir}`,
    `sentinel monitor ${masterName} 127.0.0.1 ${primaryPort} ${quorum}`,
    `sentinel down-after-milliseconds ${masterName} ${o.downAfterMs}`,
    `sentinel failover-timeout ${masterName} ${o.failoverTimeoutMs}`,
    `sentinel parallel-syncs ${masterName} 1`,
    ''
  ].join('\n')
}
