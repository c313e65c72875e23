import type { Redis } from 'ioredis'
import { withRedis } from './redis-client.js'

/**
 * What the nodes of a replicated Redis say about themselves, asked through
 * ioredis on 127.0.0.1. Each question opens a short-lived connection that never
 * retries, so a node that is down or paused answers null within `timeoutMs`.
 * `password`: the default user's (the admin's), on a topology that requires one
 * (the stack's); the same on its data nodes and its Sentinels.
 */

/** One redis-server's view of replication (INFO replication). */
export interface NodeView {
  role: 'primary' | 'replica'
  /** Its replication offset: how much of the primary's write stream it has. */
  offset: number
  /** A replica's primary, and whether its link to it is up. */
  primaryPort?: number
  linkUp?: boolean
  /** A primary's replicas: each one's offset, bytes behind the primary, and seconds since its last ACK. */
  replicas?: Array<{ port: number, state: string, offset: number, lagBytes: number, lagSeconds: number }>
}

/** One Sentinel's view of the monitored primary (SENTINEL MASTER <name>). */
export interface SentinelView {
  primaryPort: number
  /** "master" when it thinks all is well; "s_down", "o_down", "failover_in_progress" otherwise. */
  flags: string
  replicas: number
  otherSentinels: number
  quorum: number
}

/**
 * Runs `ask` on a fresh connection to 127.0.0.1:port (as the default user with
 * `password`, on a topology that requires one); null when the node does not
 * answer in time, or refuses.
 */
export async function askNode<T> (port: number, ask: (client: Redis) => Promise<T>, timeoutMs = 1000, password?: string): Promise<T | null> {
  return withRedis(port, ask, timeoutMs, password).catch(() => null)
}

/** True when the node (redis or Sentinel) answers PING. */
export async function answersPing (port: number, password?: string): Promise<boolean> {
  return (await askNode(port, (c) => c.ping(), 1000, password)) === 'PONG'
}

/** INFO replication of the redis-server on `port`, or null. */
export async function nodeView (port: number, password?: string): Promise<NodeView | null> {
  const info = await askNode(port, (c) => c.info('replication'), 1000, password)
  return info === null ? null : parseReplication(info)
}

/** What the Sentinel on `port` thinks of `masterName`, or null. */
export async function sentinelView (port: number, masterName: string, password?: string): Promise<SentinelView | null> {
  const reply = await askNode(port, (c) => c.call('SENTINEL', 'MASTER', masterName), 1000, password)
  if (!Array.isArray(reply)) return null
  const fields = pairs(reply as unknown[])
  return {
    primaryPort: Number(fields.port),
    flags: fields.flags ?? '',
    replicas: Number(fields['num-slaves']),
    otherSentinels: Number(fields['num-other-sentinels']),
    quorum: Number(fields.quorum)
  }
}

/** One replica as a Sentinel knows it (SENTINEL REPLICAS): "slave" when all is well; "s_down", "disconnected"... when not. */
export interface SentinelReplica {
  port: number
  flags: string
}

/** The replicas the Sentinel on `port` knows of `masterName`, or null. */
export async function sentinelReplicas (port: number, masterName: string, password?: string): Promise<SentinelReplica[] | null> {
  const reply = await askNode(port, (c) => c.call('SENTINEL', 'REPLICAS', masterName), 1000, password)
  if (!Array.isArray(reply)) return null
  return (reply as unknown[][]).map((flat) => {
    const fields = pairs(flat)
    return { port: Number(fields.port), flags: fields.flags ?? '' }
  })
}

/** Whether a replicated Redis is whole: who is primary, and the first thing that is not right. */
export interface TopologyHealth {
  whole: boolean
  /** The primary the Sentinels name, when a majority of them agree on one. */
  primaryPort: number | null
  /** Why it is not whole, in words (undefined when it is). */
  problem?: string
}

/**
 * Whole: every Sentinel answers, calls the same node the primary with nothing
 * wrong with it (flags "master", no failover in progress), knows every other
 * Sentinel and every other data node as a healthy replica; that node is a
 * primary with every other data node online behind it, each with its link up.
 * What a failover drill waits for before the next fault, and what `up` waits for.
 */
export async function topologyHealth (dataPorts: readonly number[], sentinelPorts: readonly number[], masterName: string, password?: string): Promise<TopologyHealth> {
  const views = await Promise.all(sentinelPorts.map((port) => sentinelView(port, masterName, password)))
  const named = views.flatMap((v) => (v === null ? [] : [v.primaryPort]))
  const primaryPort = named.find((port) => named.filter((p) => p === port).length > sentinelPorts.length / 2) ?? null
  const not = (problem: string): TopologyHealth => ({ whole: false, primaryPort, problem })
  for (const [i, view] of views.entries()) {
    const port = sentinelPorts[i]
    if (view === null) return not(`Sentinel ${port} does not answer`)
    if (view.primaryPort !== primaryPort) return not(`Sentinel ${port} names ${view.primaryPort} the primary, the others ${primaryPort}`)
    if (view.flags !== 'master') return not(`Sentinel ${port} flags the primary ${view.flags}`)
    if (view.otherSentinels !== sentinelPorts.length - 1) return not(`Sentinel ${port} knows ${view.otherSentinels} other Sentinel(s)`)
  }
  if (primaryPort === null) return not('no primary the Sentinels agree on')
  const replicaPorts = dataPorts.filter((port) => port !== primaryPort)
  for (const port of sentinelPorts) {
    const known = await sentinelReplicas(port, masterName, password)
    const healthy = (known ?? []).filter((r) => r.flags === 'slave').map((r) => r.port)
    const missing = replicaPorts.filter((p) => !healthy.includes(p))
    if (missing.length > 0) return not(`Sentinel ${port} does not see ${missing.join(', ')} as a healthy replica`)
  }
  const primary = await nodeView(primaryPort, password)
  if (primary?.role !== 'primary') return not(`${primaryPort} is not a primary (${primary?.role ?? 'no answer'})`)
  const online = (primary.replicas ?? []).filter((r) => r.state === 'online').map((r) => r.port)
  const offline = replicaPorts.filter((p) => !online.includes(p))
  if (offline.length > 0) return not(`${offline.join(', ')} not online behind the primary ${primaryPort}`)
  for (const port of replicaPorts) {
    const view = await nodeView(port, password)
    if (view?.role !== 'replica' || view.primaryPort !== primaryPort || view.linkUp !== true) return not(`${port} is not a replica of ${primaryPort} with its link up`)
  }
  return { whole: true, primaryPort }
}

/** The primary's port according to the Sentinel on `port` (SENTINEL GET-MASTER-ADDR-BY-NAME), or null. */
export async function primaryPortFrom (port: number, masterName: string, timeoutMs = 1000, password?: string): Promise<number | null> {
  const reply = await askNode(port, (c) => c.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', masterName), timeoutMs, password)
  return Array.isArray(reply) && reply.length === 2 ? Number(reply[1]) : null
}

/** INFO replication's "key:value" lines as a NodeView. */
export function parseReplication (info: string): NodeView {
  const fields: Record<string, string> = {}
  for (const line of info.split('\r\n')) {
    const at = line.indexOf(':')
    if (at > 0) fields[line.slice(0, at)] = line.slice(at + 1)
  }
  if (fields.role === 'slave') {
    return {
      role: 'replica',
      offset: Number(fields.slave_repl_offset ?? 0),
      primaryPort: Number(fields.master_port),
      linkUp: fields.master_link_status === 'up'
    }
  }
  const offset = Number(fields.master_repl_offset ?? 0)
  const replicas = Object.entries(fields)
    .filter(([key]) => /^slave\d+$/.test(key))
    .map(([, value]) => {
      // "ip=127.0.0.1,port=6380,state=online,offset=1234,lag=0"
      const f = Object.fromEntries(value.split(',').map((kv) => kv.split('=') as [string, string]))
      return { port: Number(f.port), state: f.state ?? '', offset: Number(f.offset), lagBytes: offset - Number(f.offset), lagSeconds: Number(f.lag) }
    })
  return { role: 'primary', offset, replicas }
}

/** A flat [key, value, key, value...] reply as an object. */
function pairs (flat: unknown[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (let i = 0; i + 1 < flat.length; i += 2) out[String(flat[i])] = String(flat[i + 1])
  return out
}
