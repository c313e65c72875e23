import { isListening } from '../../system/ports.js'
import { pingRedis } from '../../system/redis-client.js'
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
  return redisServerSpec({ port: settings.redisPort, dir: stackPaths(settings.dir).redis, appendonly: true, appendfsync: settings.appendfsync })
}

/** Redis: ours if the recorded process still runs; never someone else's on that port. */
export const redisPart = daemonPart({
  name: 'redis',
  port: (settings) => settings.redisPort,
  spec: ({ settings }) => stackRedisSpec(settings),
  answers: (settings) => pingRedis(settings.redisPort),
  async checkPort (settings) {
    if (await isListening(settings.redisPort)) {
      throw new StackError(`port ${settings.redisPort} is taken by a Redis (or another server) this stack did not start; ` +
        'refusing to clobber it. Stop it, or choose another port: REDIS_PORT=6380 npm start')
    }
  },
  detail: (settings) => `AOF appendfsync ${settings.appendfsync}`
})

/** Stops the stack's Redis (the Redis drill's outage): SIGTERM lets it write its AOF, SIGKILL does not. */
export async function stopStackRedis (state: StackState, signal: NodeJS.Signals): Promise<void> {
  await stackSupervisor(state).stop(['redis'], { signal })
}

/** Starts the stack's Redis again on the same data; `state` and state.json name it from the moment it is spawned. Resolves with its PID once it answers. */
export async function startStackRedis (state: StackState): Promise<number> {
  return (await stackSupervisor(state).start(stackRedisSpec(state.settings))).pid
}
