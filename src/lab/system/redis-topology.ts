import { chmodSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { DEFAULT_REDIS_MASTER_NAME } from '../../shared/contract.js'
import { requireBinary } from './binaries.js'
import type { RedisCredentials } from './redis-acl.js'
import { freePort } from './ports.js'
import { waitFor } from './process.js'
import { applyTunables, configsReusable, confPath, replicaOf, writeConfigs, type TopologyTunables } from './redis-topology-config.js'
import { answersPing, nodeView, sentinelView, topologyHealth, type NodeView, type SentinelView } from './redis-topology-status.js'
import { Supervisor, type DaemonSpec } from './supervisor.js'

/**
 * A replicated Redis on this machine: one primary, N replicas, M Sentinels, each
 * its own process on a 127.0.0.1 port, with AOF and a folder of its own
 * (config, AOF, log). Sentinels watch the primary and promote a replica when it
 * stops answering; after that "redis-1" is just a name, not the primary.
 */
export interface TopologyOptions extends Partial<TopologyTunables> {
  /** One folder per node is made below it. */
  dir: string
  replicas?: number
  sentinels?: number
  /** Fixed ports (the stack's settings); without them every node gets a free port. Their counts win over `replicas` and `sentinels`. */
  ports?: { primary: number, replicas: readonly number[], sentinels: readonly number[] }
  /**
   * Start each node from the config file it already has, when every node has one
   * for its port (the topology ran before: the last primary stays primary).
   * Otherwise, and by default, the files are written afresh with redis-1 the primary.
   */
  reuseConfigs?: boolean
  masterName?: string
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
  /**
   * Passwords every node requires (the stack's: redis-topology-config.ts says who
   * gets which). Unset: none, anyone on 127.0.0.1 may connect (the tests' own).
   */
  credentials?: RedisCredentials
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
  /** The default user's password on every node (the lab's own questions), when they require one. */
  password?: string
  /** Starts and stops the nodes (roles: Sentinels are monitors, stopped before the stores). */
  supervisor: Supervisor
}

export const TOPOLOGY_DEFAULTS: Required<Pick<TopologyOptions, 'replicas' | 'sentinels' | 'readyTimeoutMs'>> & Omit<TopologyTunables, 'quorum'> = {
  replicas: 2,
  sentinels: 3,
  // Down after 600 ms of silence: a kill costs ~2.0-2.3 s to the first write, where 1000 cost
  // 2.3-3.2 s (docs/store-ha.md). Sentinel's own default (30 s) is for WANs.
  downAfterMs: 600,
  // Well below down-after: Sentinel reconnects to a newly promoted primary only this long after
  // the switch; at its own 1000 ms, down-after 600 or 800 failed that primary over again.
  pingPeriodMs: 250,
  // Bounds each step of a failover, and delays a retry of a failed one by twice this.
  failoverTimeoutMs: 5000,
  minReplicasToWrite: 0,
  minReplicasMaxLagS: 10,
  appendfsync: 'everysec',
  readyTimeoutMs: 30_000
}

/** Sentinels that must agree by default: a majority. */
export function majorityOf (sentinels: number): number {
  return Math.floor(sentinels / 2) + 1
}

/** Every PID the topology has running. */
export function topologyPids (topology: Topology): number[] {
  return topology.nodes.flatMap((node) => node.pid === undefined ? [] : [node.pid])
}

/** The Sentinels as ioredis wants them (`sentinels` option) and REDIS_SENTINELS spells them. */
export function sentinelAddresses (topology: Pick<Topology, 'nodes'>): Array<{ host: string, port: number }> {
  return topology.nodes.filter((n) => n.kind === 'sentinel').map((n) => ({ host: '127.0.0.1', port: n.port }))
}

/** The data nodes' ports. */
export function dataPorts (topology: Pick<Topology, 'nodes'>): number[] {
  return topology.nodes.filter((n) => n.kind === 'redis').map((n) => n.port)
}

/** The redis node listening on `port` (to SIGKILL the current primary, say). */
export function nodeOnPort (topology: Pick<Topology, 'nodes'>, port: number): TopologyNode {
  const node = topology.nodes.find((n) => n.kind === 'redis' && n.port === port)
  if (!node) throw new Error(`no redis node of this topology listens on ${port}`)
  return node
}

/** The tunables `options` ask for, defaults filled in. */
function tunablesOf (options: TopologyOptions, sentinels: number): TopologyTunables {
  const o = { ...TOPOLOGY_DEFAULTS, ...options }
  return { downAfterMs: o.downAfterMs, pingPeriodMs: o.pingPeriodMs, failoverTimeoutMs: o.failoverTimeoutMs, quorum: options.quorum ?? majorityOf(sentinels), minReplicasToWrite: o.minReplicasToWrite, minReplicasMaxLagS: o.minReplicasMaxLagS, appendfsync: o.appendfsync, maxmemory: options.maxmemory }
}

/**
 * The topology's nodes (names, ports, folders) and its supervisor, nothing
 * started: redis-1 (the first primary), redis-2..., sentinel-1...
 */
export async function planTopology (options: TopologyOptions): Promise<Topology> {
  const nodes: TopologyNode[] = []
  const topology: Topology = { masterName: options.masterName ?? DEFAULT_REDIS_MASTER_NAME, nodes, supervisor: options.supervisor ?? ownSupervisor(options, nodes) }
  if (options.credentials !== undefined) topology.password = options.credentials.admin
  const ports = options.ports ?? {
    primary: await freePort(),
    replicas: await freePorts(options.replicas ?? TOPOLOGY_DEFAULTS.replicas),
    sentinels: await freePorts(options.sentinels ?? TOPOLOGY_DEFAULTS.sentinels)
  }
  const plan = (name: string, kind: TopologyNode['kind'], port: number) => nodes.push({ name, kind, port, dir: join(options.dir, name) })
  plan('redis-1', 'redis', ports.primary)
  ports.replicas.forEach((port, i) => plan(`redis-${i + 2}`, 'redis', port))
  ports.sentinels.forEach((port, i) => plan(`sentinel-${i + 1}`, 'sentinel', port))
  return topology
}

async function freePorts (count: number): Promise<number[]> {
  const ports: number[] = []
  while (ports.length < count) {
    const port = await freePort()
    if (!ports.includes(port)) ports.push(port)
  }
  return ports
}

/**
 * Plans the topology, writes its config files (or, with `reuseConfigs`, keeps
 * those it has), starts it, and resolves once it is whole: every replica in sync,
 * every Sentinel agreeing on the primary and knowing every replica and every
 * other Sentinel. On any failure everything started is stopped, then the error
 * is thrown.
 */
export async function startTopology (options: TopologyOptions): Promise<Topology> {
  const topology = await planTopology(options)
  const sentinels = topology.nodes.filter((n) => n.kind === 'sentinel').length
  const tunables = tunablesOf(options, sentinels)
  const reuse = options.reuseConfigs === true && configsReusable(topology.nodes, options.credentials)
  try {
    for (const node of topology.nodes) {
      // Private: the config files hold passwords, and Redis's CONFIG REWRITE (at every
      // failover) writes them back readable by all (0644 less the umask); the AOF is the data.
      mkdirSync(node.dir, { recursive: true })
      chmodSync(node.dir, 0o700)
    }
    if (!reuse) writeConfigs(topology.nodes, topology.masterName, tunables, options.credentials)
    // A primary before its replicas, data nodes before Sentinels: Sentinels learn the
    // replicas from the primary's INFO when they connect (then only every 10 s).
    const data = topology.nodes.filter((n) => n.kind === 'redis')
    const byRole = [...data.filter((n) => replicaOf(n) === undefined), ...data.filter((n) => replicaOf(n) !== undefined)]
    for (const node of byRole) await startNode(topology, node)
    for (const node of topology.nodes.filter((n) => n.kind === 'sentinel')) await startNode(topology, node)
    // Files kept from an earlier run may hold other values: the ones asked for now win. (And
    // the Sentinels' ping period is in no file.)
    const silent = await applyTunables(topology.nodes, topology.masterName, tunables, topology.password)
    if (silent.length > 0) throw new Error(`${silent.join(', ')} did not take the topology's settings`)
    await waitWhole(topology, options.readyTimeoutMs ?? TOPOLOGY_DEFAULTS.readyTimeoutMs)
  } catch (err) {
    await stopTopology(topology)
    throw err
  }
  return topology
}

/** Resolves once the topology is whole (see topologyHealth), asking every `everyMs`, with the primary's port; the error says what was still wrong. */
export async function waitWhole (topology: Topology, timeoutMs: number, everyMs = 100): Promise<number> {
  let last = 'not asked yet'
  let primary: number | null = null
  await waitFor('the replicated Redis to be whole', async () => {
    const health = await topologyHealth(dataPorts(topology), sentinelAddresses(topology).map((s) => s.port), topology.masterName, topology.password)
    last = health.problem ?? 'whole'
    primary = health.primaryPort
    return health.whole
  }, timeoutMs, everyMs).catch((err: Error) => { throw new Error(`${err.message}: ${last}`) })
  return primary!
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

/** How the supervisor starts a node: redis-server with its config file (a Sentinel with --sentinel); ready once it answers PING (with `password`, on a topology that requires one). */
export function nodeSpec (node: TopologyNode, password?: string): DaemonSpec {
  const logFile = join(node.dir, `${node.kind}.log`)
  return {
    name: node.name,
    // Monitors stop before stores: no Sentinel starts a failover because the primary went away.
    role: node.kind === 'sentinel' ? 'monitor' : 'store',
    command: requireBinary('redis-server'),
    args: node.kind === 'sentinel' ? [confPath(node), '--sentinel'] : [confPath(node)],
    logFile,
    port: node.port,
    ready: () => answersPing(node.port, password),
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
  const record = await topology.supervisor.start(nodeSpec(node, topology.password))
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
 * a failover because the primary went away while the rest stop. A paused node
 * (a drill's SIGSTOP) is woken first, so that it can take its SIGTERM.
 */
export async function stopTopology (topology: Topology): Promise<void> {
  for (const node of topology.nodes) {
    if (topology.supervisor.isRunning(node.name)) process.kill(topology.supervisor.record(node.name)!.pid, 'SIGCONT')
  }
  await topology.supervisor.stop(topology.nodes.map((n) => n.name))
  for (const node of topology.nodes) node.pid = undefined
}

/** What every node and every Sentinel says now (null for a node that does not answer). */
export async function topologyStatus (topology: Topology): Promise<{ nodes: Array<TopologyNode & { view: NodeView | null }>, sentinels: Array<{ port: number, view: SentinelView | null }> }> {
  const redis = topology.nodes.filter((n) => n.kind === 'redis')
  const views = await Promise.all(redis.map((n) => nodeView(n.port, topology.password)))
  const sentinels = await Promise.all(sentinelAddresses(topology).map(async (s) => ({ port: s.port, view: await sentinelView(s.port, topology.masterName, topology.password) })))
  return { nodes: redis.map((n, i) => ({ ...n, view: views[i] ?? null })), sentinels }
}
