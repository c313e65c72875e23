import fp from 'fastify-plugin'
import { ShuttingDownError } from '../errors.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** True once close() has begun. */
    isClosing (): boolean
  }
  interface FastifyContextConfig {
    /** The route keeps answering while the server drains (liveness: the process is alive, just not taking work). */
    servesWhileClosing?: boolean
  }
}

/** How often idle keep-alive sockets are reaped while closing. */
const REAP_INTERVAL_MS = 50

/**
 * Graceful close, the part Fastify leaves to us:
 * - a new request while closing from the balancer (TRUST_PROXY's peer) gets no
 *   answer: its connection is closed, which nginx counts as a failed try and retries
 *   on another instance (POSTs too: safe, a retried mutation applies once). nginx
 *   does not retry 503s, since a 503 means "shedding" or "store down", where a retry
 *   only multiplies the work; closing is how draining says "not me, try another";
 * - from anyone else (a client reaching the instance directly), a JSON 503 with
 *   `Connection: close` (and `x-instance`, which Fastify's built-in 503 lacks);
 * - routes marked `config: { servesWhileClosing: true }` (/health/live, /metrics)
 *   still answer;
 * - idle keep-alive sockets are closed every 50 ms while in-flight requests finish.
 *   Node reaps idle sockets once when close() starts; a pooled balancer connection
 *   that goes idle afterwards would otherwise hold close() open until the process
 *   manager's SIGKILL (measured: 3 stops of 12 hung without this, 0 with it).
 * app.ts sets `return503OnClosing: false` so requests reach this hook.
 */
export interface ShutdownOptions {
  /**
   * Awaited once the drain has begun (new work refused) and before the listener
   * closes, so that a scraper can still connect: the metrics' final scrape.
   */
  beforeStop?: () => Promise<void>
}

export default fp<ShutdownOptions>(function shutdownPlugin (app, { beforeStop }, done) {
  let closing = false
  let reaper: NodeJS.Timeout | undefined

  app.decorate('isClosing', () => closing)

  app.addHook('preClose', async function () {
    closing = true
    reaper = setInterval(() => app.server.closeIdleConnections(), REAP_INTERVAL_MS)
    await beforeStop?.()
  })
  app.addHook('onClose', function (_app, next) {
    clearInterval(reaper)
    next()
  })
  app.addHook('onRequest', function (request, reply, next) {
    if (!closing || request.routeOptions.config.servesWhileClosing === true) return next()
    if (app.isBalancer(request.socket.remoteAddress)) {
      request.log.debug('draining: connection closed unanswered, for the balancer to retry elsewhere')
      reply.hijack()
      request.socket.destroy()
      return
    }
    reply.header('connection', 'close')
    next(new ShuttingDownError())
  })
  done()
}, { name: 'shutdown', fastify: '5.x', dependencies: ['instance', 'balancer'] })
