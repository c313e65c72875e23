import Fastify, { LogController, type FastifyReply, type FastifyServerOptions } from 'fastify'
import sensible from '@fastify/sensible'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { proxyTrust, sentinelList, trustedProxies, type Config } from './config.js'
import { errorBody } from './errors.js'
import { createServiceMetrics } from './lib/service-metrics.js'
import balancerPlugin from './plugins/balancer.js'
import errorsPlugin from './plugins/errors.js'
import instancePlugin from './plugins/instance.js'
import jsonBodyPlugin from './plugins/json-body.js'
import metricsPlugin from './plugins/metrics.js'
import rateLimitPlugin from './plugins/rate-limit.js'
import shutdownPlugin from './plugins/shutdown.js'
import storePlugin from './plugins/store.js'
import counterRoutes from './routes/counters.js'
import healthRoutes from './routes/health.js'
import kvRoutes from './routes/kv.js'
import rootRoutes from './routes/root.js'
import workRoutes from './routes/work.js'
import { BODY_LIMIT_BYTES } from './schemas/common.js'

export interface BuildOptions {
  /** Fastify's logger option (server.ts passes pino settings; tests pass false). */
  logger?: FastifyServerOptions['logger']
  /** How long boot waits for Redis before starting without it (default 2000 ms). */
  redisConnectWaitMs?: number
}

/**
 * Builds the service: plugins, then routes, registered explicitly in order.
 * It never listens; server.ts does, and tests use inject().
 */
export async function buildApp (config: Config, options: BuildOptions = {}) {
  const trust = proxyTrust(config)
  const app = Fastify({
    logger: options.logger ?? false,
    // Per-request "incoming/completed" lines cost half the throughput at info (measured);
    // skip building them at all when they would be filtered out anyway.
    logController: new LogController({ disableRequestLogging: !isInfoEnabled(config.LOG_LEVEL) }),
    bodyLimit: BODY_LIMIT_BYTES,
    // request.ip: the balancer's X-Forwarded-For when the peer is the balancer, else the peer.
    trustProxy: trustedProxies(config) === false ? false : trust,
    // The shutdown plugin answers requests that arrive while closing (with x-instance).
    return503OnClosing: false,
    // Keys may be 128 characters; longer ones reach validation and get a 400.
    routerOptions: { maxParamLength: 1024 },
    ajv: {
      customOptions: {
        // Reject what the schemas do not describe, instead of quietly dropping
        // unknown fields or turning "5" into 5.
        removeAdditional: false,
        coerceTypes: false,
        // The schemas are TypeBox's, checked by the tests: not checking each against the JSON
        // Schema meta-schema saves compiling that at every boot (~4% of a boot's CPU, docs/stack.md).
        // Ajv still refuses an unknown keyword or a bad type when it compiles one.
        validateSchema: false
      }
    },
    // Bad URLs and over-long parameters are answered before any hook runs: stamp them too.
    frameworkErrors: (error, _request, reply) => {
      const statusCode = error.statusCode ?? 400
      const untyped = reply as FastifyReply
      untyped.header('x-instance', config.INSTANCE_ID).code(statusCode).send(errorBody(statusCode, error.code, error.message))
    }
  }).withTypeProvider<TypeBoxTypeProvider>()

  // First, so that its hooks see every request before any other hook can refuse it.
  const metrics = config.METRICS === 1 ? createServiceMetrics() : undefined
  if (metrics) await app.register(metricsPlugin, { metrics, finalScrapeMs: config.METRICS_FINAL_SCRAPE_MS })
  await app.register(instancePlugin, { id: config.INSTANCE_ID, port: config.PORT })
  await app.register(balancerPlugin, { trust })
  // Draining, before the listener closes: Prometheus's last look at this process's counters.
  await app.register(shutdownPlugin, { beforeStop: metrics ? () => app.finalScrape() : undefined })
  await app.register(errorsPlugin)
  await app.register(sensible)
  await app.register(jsonBodyPlugin)
  await app.register(storePlugin, {
    kind: config.STORE,
    redisUrl: config.REDIS_URL,
    redisSentinel: config.REDIS_MODE === 'sentinel'
      ? { sentinels: sentinelList(config), name: config.REDIS_MASTER_NAME, username: config.REDIS_SENTINEL_USERNAME, password: config.REDIS_SENTINEL_PASSWORD }
      : undefined,
    durableTimeoutMs: config.REDIS_DURABLE === '1' ? config.REDIS_DURABLE_TIMEOUT_MS : undefined,
    redisConnectWaitMs: options.redisConnectWaitMs,
    observer: metrics?.store
  })
  // Before the routes: it hooks each route as it is added.
  await app.register(rateLimitPlugin, { max: config.RATE_LIMIT_MAX, windowMs: config.RATE_LIMIT_WINDOW_MS, store: config.RATE_LIMIT_STORE })

  await app.register(rootRoutes, { showInternals: config.SHOW_INTERNALS === 1 })
  await app.register(healthRoutes)
  await app.register(kvRoutes)
  await app.register(counterRoutes)
  await app.register(workRoutes, {
    concurrency: config.WORK_CONCURRENCY,
    queue: config.WORK_QUEUE,
    queueMs: config.WORK_QUEUE_MS,
    shed: config.WORK_SHED === 1
  })

  return app
}

export type App = Awaited<ReturnType<typeof buildApp>>

function isInfoEnabled (level: Config['LOG_LEVEL']): boolean {
  return ['info', 'debug', 'trace'].includes(level)
}
