import fp from 'fastify-plugin'
import { Redis } from 'ioredis'
import { throughSentinels, watchFailovers, type SentinelOptions } from './redis-sentinel.js'

declare module 'fastify' {
  interface FastifyInstance {
    redis: Redis
  }
}

export type { SentinelOptions }

export interface RedisPluginOptions {
  /** Single mode: where Redis is. Sentinel mode: only its credentials, db and TLS count. */
  url: string
  /** Sentinel mode: ask these Sentinels where the primary is. */
  sentinel?: SentinelOptions
  /** How long boot waits for a first connection before going on without one. */
  connectWaitMs?: number
}

/** Bound on every command: a Redis that does not answer costs a request ~this long, then a 503. */
export const REDIS_COMMAND_TIMEOUT_MS = 400

/**
 * How often a client connected to a Redis still loading its AOF asks again
 * whether it is done. ioredis's ready check otherwise waits Redis's own
 * loading_eta_seconds, up to 10 s: an estimate from whole seconds that is wildly
 * high early in the load, so an instance that reconnected during the replay
 * stayed unavailable (503) for up to ~6 s after Redis answered, while the others
 * were back (docs/lab.md). One INFO every 100 ms costs nothing beside that.
 */
export const REDIS_LOADING_RECHECK_MS = 100

/**
 * The ioredis client, as `fastify.redis`. Why not @fastify/redis: its registration
 * waits for Redis to be ready, so the service could not start while Redis is down,
 * and it must (ready stays 503 until Redis answers, then recovers by itself).
 *
 * Tuned to fail fast rather than queue: no offline queue (a command while
 * disconnected fails at once), a bounded command timeout, and reconnects every
 * ≤ 500 ms forever; connected to a Redis that is loading its AOF, it is ready
 * within REDIS_LOADING_RECHECK_MS of the load's end (until then, a 503).
 * Auto-pipelining batches the commands of concurrent requests into one write:
 * a prototype measured +28–44% with it; this lab's bench, through the stack and
 * one instance direct, saw on/off within the machine's noise
 * (0.9–1.2×). It stays on: it never cost anything measurable, and fewer writes
 * to Redis matter more as instances are added.
 *
 * In sentinel mode the same client finds the primary through the Sentinels and
 * follows a failover by itself (redis-sentinel.ts, docs/store-ha.md).
 */
export default fp<RedisPluginOptions>(async function redisPlugin (app, opts) {
  const client = new Redis(opts.url, {
    enableAutoPipelining: true,
    enableOfflineQueue: false,
    commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
    // A Redis that stops answering (hung, partitioned) is dropped after 1 s of silence
    // on a busy socket, so commands fail at once instead of queueing on a dead connection.
    socketTimeout: 1000,
    connectTimeout: 1000,
    maxRetriesPerRequest: 0,
    // A command already answered with a 503 is never sent again behind the client's back.
    autoResendUnfulfilledCommands: false,
    retryStrategy: (attempt) => Math.min(attempt * 50, 500),
    maxLoadingRetryTime: REDIS_LOADING_RECHECK_MS,
    lazyConnect: false,
    ...(opts.sentinel ? throughSentinels(opts.sentinel, REDIS_COMMAND_TIMEOUT_MS, opts.url.startsWith('rediss://')) : {})
  })
  const where = () => opts.sentinel ? `sentinel ${opts.sentinel.name} at ${client.stream?.remoteAddress}:${client.stream?.remotePort}` : redactUrl(opts.url)

  // Log transitions, not every failed reconnect (those come every 500 ms while Redis
  // is down), and at warn both ways, so the stack's LOG_LEVEL=warn shows the outage.
  let connected = false
  let lostAt: number | null = null
  const lost = (err?: Error) => {
    if (connected) {
      lostAt = Date.now()
      app.log.warn({ err }, 'redis connection lost; reconnecting')
    } else if (err) {
      app.log.debug({ err }, 'redis still unreachable')
    }
    connected = false
  }
  client.on('ready', () => {
    connected = true
    if (lostAt === null) app.log.info({ redis: where() }, 'redis ready')
    else app.log.warn({ redis: where(), downMs: Date.now() - lostAt }, 'redis connection restored')
    lostAt = null
  })
  client.on('error', (err) => lost(err))
  // A clean stop (SIGTERM, SHUTDOWN) closes the socket without an error.
  client.on('close', () => lost())

  const unwatch = opts.sentinel
    ? watchFailovers(client, opts.sentinel, (primary) => app.log.warn({ primary }, 'redis: Sentinels promoted a new primary; reconnecting to it'))
    : () => {}

  app.decorate('redis', client)
  app.addHook('onClose', async () => {
    unwatch()
    try {
      await client.quit()
    } catch {
      // Not connected: nothing to say goodbye to.
    } finally {
      client.disconnect()
    }
  })

  if (client.status !== 'ready' && !(await readyWithin(client, opts.connectWaitMs ?? 2000))) {
    app.log.warn({ redis: opts.sentinel ? `sentinel ${opts.sentinel.name}` : redactUrl(opts.url) }, 'redis unreachable at boot; starting anyway (/health/ready is 503 until it answers)')
  }
}, { name: 'redis', fastify: '5.x' })

function readyWithin (client: Redis, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const onReady = () => { clearTimeout(timer); resolve(true) }
    const timer = setTimeout(() => { client.off('ready', onReady); resolve(false) }, ms)
    client.once('ready', onReady)
  })
}

function redactUrl (url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@')
}
