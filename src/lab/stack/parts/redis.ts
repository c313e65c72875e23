import { join } from 'node:path'
import { isTaken } from '../../system/ports.js'
import { redisCredentials, storedCredentials } from '../../system/redis-acl.js'
import { infoNumber, pingRedis, withRedis } from '../../system/redis-client.js'
import { redisServerSpec } from '../../system/redis-server.js'
import type { DaemonSpec } from '../../system/supervisor.js'
import type { StackSettings } from '../settings.js'
import { stackPaths, stackSupervisor, type StackState } from '../state.js'
import { daemonPart, StackError } from './part.js'

/**
 * The stack's Redis, on its port, from its data folder with AOF on (a restart
 * replays what was acknowledged) and the stack's fsync policy.
 */
export function stackRedisSpec (settings: StackSettings): DaemonSpec {
  const dir = stackPaths(settings.dir).redis
  return redisServerSpec({ port: settings.redisPort, dir, appendonly: true, appendfsync: settings.appendfsync, maxmemory: settings.redisMaxmemory, credentials: redisCredentials(credentialsFile(settings)) })
}

/** The stack's Redis passwords (mode 0600), generated with its first start. */
export function credentialsFile (settings: Pick<StackSettings, 'dir'>): string {
  return join(stackPaths(settings.dir).redis, 'credentials.json')
}

/** The admin password of the stack's Redis, for the lab's own commands (undefined before one was generated). */
export function stackRedisPassword (settings: Pick<StackSettings, 'dir'>): string | undefined {
  return storedCredentials(credentialsFile(settings))?.admin
}

/** What a Redis holds against its bound: INFO memory's used_memory and maxmemory (0: unbounded). */
export interface RedisMemory { usedBytes: number, maxBytes: number }

/** The memory of the Redis on 127.0.0.1:port, or null when it does not answer. */
export async function redisMemory (port: number, password?: string): Promise<RedisMemory | null> {
  try {
    const info = await withRedis(port, (redis) => redis.info('memory'), 1000, password)
    return { usedBytes: infoNumber(info, 'used_memory'), maxBytes: infoNumber(info, 'maxmemory') }
  } catch {
    return null
  }
}

/** Redis: ours if the recorded process still runs; never someone else's on that port. */
export const redisPart = daemonPart({
  name: 'redis',
  port: (settings) => settings.redisPort,
  spec: ({ settings }) => stackRedisSpec(settings),
  answers: (settings) => pingRedis(settings.redisPort, stackRedisPassword(settings)),
  async checkPort (settings) {
    if (await isTaken(settings.redisPort)) {
      throw new StackError(`port ${settings.redisPort} is taken by a Redis (or another server) this stack did not start; ` +
        'refusing to clobber it. Stop it, or choose another port: REDIS_PORT=6380 npm start')
    }
  },
  detail: (settings) => `AOF appendfsync ${settings.appendfsync}, maxmemory ${settings.redisMaxmemory} noeviction`
})

/** Stops the stack's Redis (the Redis drill's outage): SIGTERM lets it write its AOF, SIGKILL does not. */
export async function stopStackRedis (state: StackState, signal: NodeJS.Signals): Promise<void> {
  await stackSupervisor(state).stop(['redis'], { signal })
}

/** Starts the stack's Redis again on the same data; `state` and state.json name it from the moment it is spawned. Resolves with its PID once it answers. */
export async function startStackRedis (state: StackState): Promise<number> {
  return (await stackSupervisor(state).start(stackRedisSpec(state.settings))).pid
}
