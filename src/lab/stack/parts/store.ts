import { stackPaths } from '../state.js'
import { sayPart, type StackPart } from './part.js'
import { stackRedisSpec, redisPart } from './redis.js'
import { replicatedPart } from './redis-ha.js'

/**
 * The stack's store, in the mode REDIS_MODE asks for: one Redis (single), or
 * the replicated store (sentinel). Switching modes on a running stack replaces
 * the store the way a changed STORE replaces the apps: the other mode's
 * processes are stopped first (they would hold REDIS_PORT), then this mode's
 * start. Each mode keeps its own data (.stack/redis, .stack/redis-ha), so
 * switching back finds what was written in that mode.
 */
export const storePart: StackPart = {
  name: 'redis',
  async up (ctx) {
    const { supervisor } = ctx
    if (ctx.settings.redisMode === 'sentinel') {
      const single = supervisor.record(redisPart.name)
      if (single !== undefined && supervisor.isRunning(redisPart.name)) {
        await supervisor.stop([redisPart.name])
        // Should the replicated store fail to start, the single Redis comes back as it was.
        ctx.undo(() => supervisor.start(stackRedisSpec(ctx.settings)))
        sayPart(ctx, 'redis', `stopped (pid ${single.pid}): REDIS_MODE=sentinel runs the replicated store instead; the data stays in ${stackPaths(ctx.settings.dir).redis}`)
      }
      supervisor.forget([redisPart.name])
      await replicatedPart.up(ctx)
    } else {
      if (await replicatedPart.down(ctx)) {
        // Should the single Redis fail to start, the replicated store comes back from its files.
        ctx.undo(() => replicatedPart.up({ ...ctx, settings: { ...ctx.settings, redisMode: 'sentinel' }, undo: () => {} }))
      }
      await redisPart.up(ctx)
    }
  },
  async down (ctx) {
    const replicated = await replicatedPart.down(ctx)
    const single = await redisPart.down(ctx)
    return replicated || single
  }
}
