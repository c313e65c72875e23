import fp from 'fastify-plugin'
import { metricsText } from '../lib/metrics-text.js'
import { UNMATCHED_ROUTE, type ServiceMetrics } from '../lib/service-metrics.js'
import { metricsSchema } from '../schemas/metrics.js'

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Resolves at the first scrape that finds nothing in flight, or after
     * finalScrapeMs; at once when nothing scraped this app within finalScrapeMs.
     */
    finalScrape (): Promise<void>
  }
  interface FastifyContextConfig {
    /** false: the route's requests are not counted in the request metrics (GET /metrics itself). */
    measured?: boolean
  }
}

/** Where Prometheus scrapes each instance, on the instance's own port. */
export const METRICS_PATH = '/metrics'

/**
 * The service's metrics, per app, and GET /metrics that serves them in the
 * Prometheus text format. Registered first, so its onRequest hook runs before any
 * hook that may refuse a request (the drain's 503): every request it counts in
 * flight it also counts out, on the response or on the client's abort.
 *
 * The hot path is what a request costs: one increment on arrival, and on the
 * response one histogram observation labelled from values that already exist (the
 * method, the route template Fastify matched, the status code). The duration is
 * Fastify's own reply.elapsedTime: no timer of ours.
 *
 * GET /metrics serves while the instance drains (service_draining says 1) and is
 * not counted in the request metrics: a scrape is not traffic. Its text is
 * prom-client's, with each histogram label set rendered once per change
 * (metricsText): an idle instance's scrape a second then rebuilds next to nothing.
 */
export interface MetricsOptions {
  metrics: ServiceMetrics
  /** METRICS_FINAL_SCRAPE_MS: how long a draining instance waits for its last scrape (0: not at all). */
  finalScrapeMs: number
}

export default fp<MetricsOptions>(function metricsPlugin (app, { metrics, finalScrapeMs }, done) {
  const { registry, httpDuration, inFlight, draining } = metrics
  let lastScrapeAt = -Infinity
  let onScrape: (() => void) | undefined

  app.addHook('onRequest', function (request, _reply, next) {
    if (request.routeOptions.config.measured !== false) inFlight.count++
    next()
  })
  app.addHook('onResponse', function (request, reply, next) {
    const { config, url } = request.routeOptions
    if (config.measured !== false) {
      inFlight.count--
      httpDuration.observe({ method: request.method, route: url ?? UNMATCHED_ROUTE, status_code: reply.statusCode }, reply.elapsedTime / 1000)
    }
    next()
  })
  // A client that goes away before its answer gets no response, so no onResponse.
  app.addHook('onRequestAbort', function (request, next) {
    if (request.routeOptions.config.measured !== false) inFlight.count--
    next()
  })
  app.addHook('preClose', function (next) {
    draining.set(1)
    next()
  })

  app.get(METRICS_PATH, {
    schema: metricsSchema,
    config: { measured: false, servesWhileClosing: true },
    // A scrape a second per instance would be two log lines a second at info.
    logLevel: 'warn'
  }, async (_request, reply) => {
    lastScrapeAt = performance.now()
    onScrape?.()
    reply.type(registry.contentType)
    return metricsText(registry)
  })

  // A process's counters go with it: whatever it answered after its last scrape is
  // in no rate() and no report (the reload drill counted 3.1 % fewer requests in
  // Prometheus than its load generator sent). A drain therefore waits, bounded, for
  // one more scrape once its last request has been answered. Only when something
  // scrapes this often: a 15 s scraper would not come in time, a test never does.
  app.decorate('finalScrape', function (): Promise<void> {
    if (performance.now() - lastScrapeAt > finalScrapeMs) return Promise.resolve()
    return new Promise((resolve) => {
      const giveUp = setTimeout(resolve, finalScrapeMs)
      onScrape = () => {
        if (inFlight.count > 0) return
        clearTimeout(giveUp)
        resolve()
      }
    })
  })
  done()
}, { name: 'metrics', fastify: '5.x' })
