import { isTaken } from '../../system/ports.js'
import { applyTunables, type TopologyTunables } from '../../system/redis-topology-config.js'
import { nodeView, sentinelView, topologyHealth, type SentinelView } from '../../system/redis-topology-status.js'
import { dataPorts, nodeSpec, planTopology, sentinelAddresses, startNode, startTopology, stopTopology, TOPOLOGY_DEFAULTS, waitWhole, type Topology, type TopologyNode, type TopologyOptions } from '../../system/redis-topology.js'
import { redisCredentials } from '../../system/redis-acl.js'
import type { Supervisor } from '../../system/supervisor.js'
import type { StackSettings } from '../settings.js'
import { stackPaths, stackSupervisor, type StackState } from '../state.js'
import { sayPart, StackError, type PartContext, type UpContext } from './part.js'
import { credentialsFile } from './redis.js'

/** How long `up` waits for the replicated store to be whole (replicas in sync, Sentinels agreed). */
const WHOLE_WITHIN_MS = 30_000

/** The Sentinels' and the data nodes' tunables, from the stack's settings. */
export function stackTunables (settings: StackSettings): TopologyTunables {
  return {
    downAfterMs: settings.downAfterMs,
    pingPeriodMs: TOPOLOGY_DEFAULTS.pingPeriodMs,
    failoverTimeoutMs: settings.failoverTimeoutMs,
    quorum: settings.quorum,
    minReplicasToWrite: settings.minReplicasToWrite,
    minReplicasMaxLagS: TOPOLOGY_DEFAULTS.minReplicasMaxLagS,
    appendfsync: settings.appendfsync,
    maxmemory: settings.redisMaxmemory
  }
}

/**
 * The stack's replicated store (sentinel mode) as a topology: redis-1 on
 * REDIS_PORT, the replicas and Sentinels on their ports, a folder each under
 * .stack/redis-ha, run by the stack's supervisor (so state.json records them),
 * every node requiring the single Redis's passwords (one credentials file for
 * both modes: the instances' REDIS_URL is the same in either).
 */
export function stackTopology (settings: StackSettings, supervisor: Supervisor): Promise<Topology> {
  return planTopology(topologyOptions(settings, supervisor))
}

function topologyOptions (settings: StackSettings, supervisor: Supervisor): TopologyOptions {
  return {
    dir: stackPaths(settings.dir).redisHa,
    ports: { primary: settings.redisPort, replicas: settings.replicaPorts, sentinels: settings.sentinelPorts },
    supervisor,
    ...stackTunables(settings),
    credentials: redisCredentials(credentialsFile(settings)),
    // Each node from its own file once it has one: the last primary stays primary.
    reuseConfigs: true,
    readyTimeoutMs: WHOLE_WITHIN_MS
  }
}

/** The REDIS_SENTINELS the instances get: every Sentinel (the failover watch subscribes to those listed). */
export function sentinelsSetting (settings: Pick<StackSettings, 'sentinelPorts'>): string {
  return settings.sentinelPorts.map((port) => `127.0.0.1:${port}`).join(',')
}

/** A data node or a Sentinel, as `status` reports it. */
export interface ReplicatedNodeStatus {
  name: string
  port: number
  pid: number | null
  alive: boolean
}

export interface ReplicatedStatus {
  whole: boolean
  /** Why not, when it is not. */
  problem: string | null
  /** The primary the Sentinels name (a majority of them), or null. */
  primaryPort: number | null
  nodes: Array<ReplicatedNodeStatus & { role: 'primary' | 'replica' | null, offset: number | null, lagBytes: number | null, lagSeconds: number | null }>
  sentinels: Array<ReplicatedNodeStatus & { view: SentinelView | null }>
}

/** A node's port must be free (or its own): never clobber a Redis or a Sentinel someone else runs there. */
async function checkPorts (topology: Topology, names: readonly string[]): Promise<void> {
  for (const node of topology.nodes.filter((n) => names.includes(n.name))) {
    if (await isTaken(node.port)) {
      const variable = node.kind === 'sentinel' ? 'REDIS_SENTINEL_PORTS' : node.name === 'redis-1' ? 'REDIS_PORT' : 'REDIS_REPLICA_PORTS'
      throw new StackError(`port ${node.port} (${node.name}) is taken by something this stack did not start; refusing to clobber it. ` +
        `Stop it, or choose other ports: ${variable}=... npm start`)
    }
  }
}

/**
 * Sentinel mode's store: one primary, its replicas and the Sentinels, each with
 * AOF and a config file of its own. Started afresh the first time (redis-1 the
 * primary); afterwards each node starts again from its own file, which Sentinel
 * rewrote at every failover, so the last primary stays primary. Left alone when
 * every node runs (its tunables applied again); a node that stopped is started again.
 */
export const replicatedPart = {
  name: 'redis-ha',
  async up (ctx: UpContext): Promise<void> {
    const { settings, supervisor } = ctx
    const topology = await stackTopology(settings, supervisor)
    const tunables = stackTunables(settings)
    const missing = topology.nodes.filter((n) => !supervisor.isRunning(n.name)).map((n) => n.name)
    if (missing.length === topology.nodes.length) {
      await checkPorts(topology, missing)
      ctx.undo(() => stopTopology(topology))
      await startTopology(topologyOptions(settings, supervisor))
    } else {
      await checkPorts(topology, missing)
      for (const node of topology.nodes.filter((n) => missing.includes(n.name))) {
        ctx.undo(() => supervisor.stop([node.name]))
        await startNode(topology, node)
      }
      const silent = await applyTunables(topology.nodes, topology.masterName, tunables, topology.password)
      if (silent.length > 0) throw new StackError(`${silent.join(', ')} of the replicated Redis did not answer; npm stop && npm start starts afresh`)
    }
    const primary = await waitWhole(topology, WHOLE_WITHIN_MS)
    const pids = topology.nodes.map((n) => supervisor.record(n.name)?.pid).join(', ')
    const what = missing.length === 0 ? 'already up' : missing.length === topology.nodes.length ? 'started' : `started ${missing.join(', ')} again`
    sayPart(ctx, 'redis-ha', `${what}: primary ${primary}, replicas ${dataPorts(topology).filter((p) => p !== primary).join(', ')}, ` +
      `Sentinels ${sentinelAddresses(topology).map((s) => s.port).join(', ')} (pids ${pids}; AOF ${settings.appendfsync}, maxmemory ${settings.redisMaxmemory} noeviction, down-after ${settings.downAfterMs} ms, quorum ${settings.quorum}, min-replicas-to-write ${settings.minReplicasToWrite})`)
  },

  /** Stops every node recorded (Sentinels first); false when none was. */
  async down (ctx: PartContext): Promise<boolean> {
    const topology = await stackTopology(ctx.settings, ctx.supervisor)
    const recorded = topology.nodes.filter((n) => ctx.supervisor.record(n.name) !== undefined).map((n) => n.name)
    if (recorded.length === 0) return false
    await stopTopology(topology)
    ctx.supervisor.forget(recorded)
    sayPart(ctx, 'redis-ha', `stopped ${recorded.join(', ')}`)
    return true
  },

  async status ({ settings, supervisor }: PartContext): Promise<ReplicatedStatus> {
    const topology = await stackTopology(settings, supervisor)
    const recorded = (name: string, port: number): ReplicatedNodeStatus => ({ name, port, pid: supervisor.record(name)?.pid ?? null, alive: supervisor.isRunning(name) })
    const health = await topologyHealth(dataPorts(topology), sentinelAddresses(topology).map((s) => s.port), topology.masterName, topology.password)
    const data = topology.nodes.filter((n) => n.kind === 'redis')
    const views = await Promise.all(data.map((n) => nodeView(n.port, topology.password)))
    const lagOf = (port: number) => views.flatMap((v) => v?.replicas ?? []).find((r) => r.port === port)
    const sentinels = topology.nodes.filter((n) => n.kind === 'sentinel')
    return {
      whole: health.whole,
      problem: health.problem ?? null,
      primaryPort: health.primaryPort,
      nodes: data.map((n, i) => ({
        ...recorded(n.name, n.port),
        role: views[i]?.role ?? null,
        offset: views[i]?.offset ?? null,
        lagBytes: lagOf(n.port)?.lagBytes ?? null,
        lagSeconds: lagOf(n.port)?.lagSeconds ?? null
      })),
      sentinels: await Promise.all(sentinels.map(async (n) => ({ ...recorded(n.name, n.port), view: await sentinelView(n.port, topology.masterName, topology.password) })))
    }
  }
}

/**
 * The Redis drill in sentinel mode stops the whole store: every data node (with
 * `signal`), the Sentinels left running (they find no replica to promote).
 * Resolves with the data nodes in the order to start them again: the primary first.
 */
export async function stopReplicatedData (state: StackState, signal: NodeJS.Signals): Promise<TopologyNode[]> {
  const supervisor = stackSupervisor(state)
  const topology = await stackTopology(state.settings, supervisor)
  const health = await topologyHealth(dataPorts(topology), sentinelAddresses(topology).map((s) => s.port), topology.masterName, topology.password)
  const data = topology.nodes.filter((n) => n.kind === 'redis')
  await supervisor.stop(data.map((n) => n.name), { signal })
  return [...data.filter((n) => n.port === health.primaryPort), ...data.filter((n) => n.port !== health.primaryPort)]
}

/** Starts the data nodes again from their configs (in the order given: the primary first); the first one's PID. */
export async function startReplicatedData (state: StackState, nodes: readonly TopologyNode[]): Promise<number> {
  const supervisor = stackSupervisor(state)
  const { password } = await stackTopology(state.settings, supervisor)
  const pids: number[] = []
  for (const node of nodes) pids.push((await supervisor.start(nodeSpec(node, password))).pid)
  return pids[0]!
}
