/**
 * The bench's replicated Redis, for the cells that price durable mode: the lab's
 * topology (src/lab/system/redis-topology.ts) at its smallest, under the fleet's
 * supervisor — a primary, one replica (all WAIT 1 needs), one Sentinel (where the
 * instances ask for the primary) — and how an instance is pointed at it.
 */
import { join } from 'node:path'
import { sentinelsSetting } from '../stack/parts/redis-ha.js'
import { sentinelAddresses, startTopology, type Topology } from '../system/redis-topology.js'
import type { Supervisor } from '../system/supervisor.js'

/**
 * Sentinel's own default, not the lab's 1 s: the bench measures a steady store,
 * and a Sentinel calling a starved primary down on a busy machine would have it
 * measure a failover instead.
 */
const DOWN_AFTER_MS = 30_000

/** Starts the topology on ports the fleet hands out; resolves once the replica is in sync and the Sentinel knows both. */
export async function startReplicatedStore (dir: string, port: () => Promise<number>, supervisor: Supervisor): Promise<Topology> {
  return startTopology({
    dir: join(dir, 'redis-ha'),
    ports: { primary: await port(), replicas: [await port()], sentinels: [await port()] },
    supervisor,
    downAfterMs: DOWN_AFTER_MS
  })
}

/** An instance's settings for the topology: sentinel mode, as the stack's sentinel mode spells them. */
export function replicatedStoreEnv (topology: Topology): Record<string, string> {
  return {
    REDIS_MODE: 'sentinel',
    REDIS_SENTINELS: sentinelsSetting({ sentinelPorts: sentinelAddresses(topology).map((s) => s.port) }),
    REDIS_MASTER_NAME: topology.masterName
  }
}
