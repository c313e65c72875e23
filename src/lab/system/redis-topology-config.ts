import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { aclConfig, SENTINEL_SERVICE_RULES, type RedisCredentials } from './redis-acl.js'
import { maxmemoryConfig, UNREAD_STATS_OFF } from './redis-server.js'
import { askNode } from './redis-topology-status.js'

/**
 * The configuration files of a replicated Redis's nodes, and its tunables applied
 * to running nodes. The files are written once, when a topology is first made:
 * after that Sentinel owns them (it rewrites a data node's file when it changes
 * its role, and its own file with what it learnt), so a node started again from
 * its file comes back in the role it last had.
 *
 * With credentials (the stack's) every node is as locked down as the single
 * Redis: the default user needs the admin password, the service's user is limited
 * (on the data nodes to its data commands, on the Sentinels to asking where the
 * primary is), replicas and Sentinels authenticate as the default user. Without
 * them (the tests' own topologies) anyone on 127.0.0.1 may connect.
 */

/** What a node's config file is written from. */
export interface ConfigNode {
  name: string
  kind: 'redis' | 'sentinel'
  port: number
  dir: string
}

/** The settings that may change on a running topology (applied with CONFIG SET / SENTINEL SET). */
export interface TopologyTunables {
  /** How long the primary may not answer before a Sentinel calls it down (subjectively). */
  downAfterMs: number
  /**
   * Sentinel's ping period (its own default 1000 ms): it PINGs every node at most this far
   * apart and reconnects a dropped link at most this often. Below down-after, or a newly
   * promoted primary is called down before the Sentinel has reconnected to it (docs/store-ha.md).
   * A runtime setting (`SENTINEL DEBUG ping-period`, Redis 7.0+) no config file holds.
   */
  pingPeriodMs: number
  /** Bounds a failover's steps; also how long before a failed one is tried again (twice this). */
  failoverTimeoutMs: number
  /** Sentinels that must agree the primary is down before a failover starts. */
  quorum: number
  /** The primary refuses writes (NOREPLICAS) with fewer replicas than this connected and within minReplicasMaxLagS. */
  minReplicasToWrite: number
  minReplicasMaxLagS: number
  appendfsync: 'always' | 'everysec' | 'no'
  /** Each data node's `maxmemory` ("512mb"), with noeviction. Unset: unbounded. */
  maxmemory?: string
}

export function confPath (node: ConfigNode): string {
  return join(node.dir, `${node.kind}.conf`)
}

export function redisConf (node: ConfigNode, o: TopologyTunables, primaryPort?: number, credentials?: RedisCredentials): string {
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
    ...maxmemoryConfig(o.maxmemory),
    ...UNREAD_STATS_OFF,
    // Every node, the primary too: after a failover it rejoins as a replica of another.
    ...(credentials === undefined ? [] : [...aclConfig(credentials), 'masteruser default', `masterauth ${credentials.admin}`]),
    ...(primaryPort === undefined ? [] : [`replicaof 127.0.0.1 ${primaryPort}`]),
    ''
  ].join('\n')
}

export function sentinelConf (node: ConfigNode, masterName: string, primaryPort: number, o: TopologyTunables, credentials?: RedisCredentials): string {
  return [
    `port ${node.port}`,
    'bind 127.0.0.1',
    'daemonize no',
    `dir ${node.dir}`,
    `sentinel monitor ${masterName} 127.0.0.1 ${primaryPort} ${o.quorum}`,
    `sentinel down-after-milliseconds ${masterName} ${o.downAfterMs}`,
    `sentinel failover-timeout ${masterName} ${o.failoverTimeoutMs}`,
    `sentinel parallel-syncs ${masterName} 1`,
    ...(credentials === undefined
      ? []
      : [
          ...aclConfig(credentials, SENTINEL_SERVICE_RULES),
          // To the data nodes, and to the other Sentinels (which require it too), as the default user.
          `sentinel auth-user ${masterName} default`,
          `sentinel auth-pass ${masterName} ${credentials.admin}`,
          `sentinel sentinel-pass ${credentials.admin}`
        ]),
    ''
  ].join('\n')
}

/** Writes every node's file afresh: the first data node is the primary, the others its replicas. */
export function writeConfigs (nodes: readonly ConfigNode[], masterName: string, o: TopologyTunables, credentials?: RedisCredentials): void {
  const [primary, ...others] = nodes.filter((n) => n.kind === 'redis')
  if (primary === undefined) throw new Error('a topology needs a data node')
  for (const node of nodes) {
    writeFileSync(confPath(node), node.kind === 'sentinel'
      ? sentinelConf(node, masterName, primary.port, o, credentials)
      : redisConf(node, o, others.includes(node) ? primary.port : undefined, credentials), { mode: 0o600 })
  }
}

/**
 * True when every node has a config file for the port it is planned on (and, with
 * `credentials`, the admin password the others authenticate with): the topology
 * ran before, and each node can start again in the role it last had (the last
 * primary stays primary, its data with it). Files from before the topology had
 * passwords are not: they are written afresh.
 */
export function configsReusable (nodes: readonly ConfigNode[], credentials?: RedisCredentials): boolean {
  return nodes.every((node) => {
    if (!existsSync(confPath(node))) return false
    const file = readFileSync(confPath(node), 'utf8')
    // (Redis's CONFIG REWRITE quotes the values it writes; Sentinel's does not.)
    const secret = node.kind === 'sentinel' ? `sentinel auth-pass \\S+ "?${credentials?.admin}"?` : `masterauth "?${credentials?.admin}"?`
    return new RegExp(`^port ${node.port}$`, 'm').test(file) && (credentials === undefined || new RegExp(`^${secret}$`, 'm').test(file))
  })
}

/** The data node a config file makes a replica of, or undefined for a primary. */
export function replicaOf (node: ConfigNode): number | undefined {
  const match = /^(?:replicaof|slaveof) \S+ (\d+)$/m.exec(readFileSync(confPath(node), 'utf8'))
  return match === null ? undefined : Number(match[1])
}

/**
 * Applies the tunables to the running nodes and into their files (CONFIG SET then
 * CONFIG REWRITE; SENTINEL SET rewrites a Sentinel's own file; the ping period
 * lives only in the running Sentinel, so this runs after every start), as the default
 * user with `password` where they require one. Resolves with the nodes that did
 * not answer.
 */
export async function applyTunables (nodes: readonly ConfigNode[], masterName: string, o: TopologyTunables, password?: string): Promise<string[]> {
  const silent: string[] = []
  await Promise.all(nodes.map(async (node) => {
    const done = await askNode(node.port, async (client) => {
      if (node.kind === 'sentinel') {
        await client.call('SENTINEL', 'SET', masterName, 'down-after-milliseconds', String(o.downAfterMs),
          'failover-timeout', String(o.failoverTimeoutMs), 'quorum', String(o.quorum))
        await client.call('SENTINEL', 'DEBUG', 'ping-period', String(o.pingPeriodMs))
      } else {
        await client.config('SET', 'min-replicas-to-write', String(o.minReplicasToWrite))
        await client.config('SET', 'min-replicas-max-lag', String(o.minReplicasMaxLagS))
        await client.config('SET', 'appendfsync', o.appendfsync)
        if (o.maxmemory !== undefined) await client.config('SET', 'maxmemory', o.maxmemory, 'maxmemory-policy', 'noeviction')
        await client.call('CONFIG', 'REWRITE')
      }
      return true
    }, 2000, password)
    if (done !== true) silent.push(node.name)
  }))
  return silent
}
