/** What the abuse drill's write flood asks of the stack's Redis directly (as its admin user): memory, and its own keys. */
import type { Redis } from 'ioredis'
import { infoNumber } from '../system/redis-client.js'

/** INFO memory's used_memory, in bytes. */
export async function usedMemory (redis: Redis): Promise<number> {
  return infoNumber(await redis.info('memory'), 'used_memory', 0)
}

/**
 * INFO persistence's aof_rewrites: AOF rewrites started since Redis did. A write flood
 * grows the AOF past its rewrite threshold; the fork that starts a rewrite stops Redis
 * (~10 ms for ~70 MiB here) and the rewrite then shares the cores with the stack.
 */
export async function aofRewrites (redis: Redis): Promise<number> {
  return infoNumber(await redis.info('persistence'), 'aof_rewrites', 0)
}

/** The keys matching `pattern` (SCAN: never blocks Redis), by their names without the store's prefix up to `abuse:`. */
export async function floodKeys (redis: Redis, pattern: string): Promise<{ has: (name: string) => boolean, keys: string[] }> {
  const keys: string[] = []
  let cursor = '0'
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
    cursor = next
    keys.push(...found)
  } while (cursor !== '0')
  const names = new Set(keys.map((key) => key.slice(key.indexOf('abuse:'))))
  return { has: (name) => names.has(name), keys }
}

/** Frees what the flood wrote: the stack's Redis is not left holding megabytes of it. */
export async function unlinkAll (redis: Redis, keys: string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 500) await redis.unlink(...keys.slice(i, i + 500))
}
