import fp from 'fastify-plugin'
import { MemoryStore } from '../store/memory-store.js'
import { observed, type StoreObserver } from '../store/observed-store.js'
import { RedisStore } from '../store/redis-store.js'
import type { Store } from '../store/store.js'
import redisPlugin, { type SentinelOptions } from './redis.js'

declare module 'fastify' {
  interface FastifyInstance {
    store: Store
  }
}

export interface StorePluginOptions {
  kind: 'redis' | 'memory'
  redisUrl: string
  /** Sentinel mode: the primary is found through these. */
  redisSentinel?: SentinelOptions
  /** Durable mode: acknowledge a mutation only once a replica has it, waiting at most this long. */
  durableTimeoutMs?: number
  redisConnectWaitMs?: number
  /** Told of every store operation (the metrics); none: the store is used as is. */
  observer?: StoreObserver
}

/** The store the routes use, as `fastify.store`; for `redis` it brings its own client. */
export default fp<StorePluginOptions>(async function storePlugin (app, opts) {
  if (opts.kind === 'redis') {
    await app.register(redisPlugin, { url: opts.redisUrl, sentinel: opts.redisSentinel, connectWaitMs: opts.redisConnectWaitMs })
    app.decorate('store', observed(new RedisStore(app.redis, { durableTimeoutMs: opts.durableTimeoutMs }), opts.observer))
  } else {
    app.decorate('store', observed(new MemoryStore(), opts.observer))
  }
}, { name: 'store', fastify: '5.x' })
