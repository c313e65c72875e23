import fp from 'fastify-plugin'
import type { FastifyReply, onRequestHookHandler } from 'fastify'
import { RateLimitedError } from '../errors.js'
import { RedisBudget } from '../lib/redis-budget.js'
import { RateLimitClients } from '../lib/rate-limit-clients.js'
import { LocalBudget, RateLimiter } from '../lib/rate-limiter.js'

export interface RateLimitPluginOptions {
  /** Requests per client and window; 0 turns the limit off. */
  max: number
  windowMs: number
  /** 'shared': counted in the store (Redis: one budget for the cluster); 'instance': in each process's memory. */
  store: 'shared' | 'instance'
}

/** Routes never limited: a balancer's or an orchestrator's probes, and the metrics scrape. */
const EXEMPT = new Set(['/health/live', '/health/ready', '/metrics'])

/**
 * A per-client rate limit on every route, in its first hook (refused before the
 * body is read; a request for no route at all costs a 404 and nothing more). The client is the address `trustProxy` yields: behind the
 * balancer, the one it forwards; never the balancer itself. On Redis the budget is
 * one for the cluster; in memory each instance counts alone, so behind N instances
 * a client gets N times the budget (the lab shows it). Refused: 429
 * SL_RATE_LIMITED with Retry-After. A failing Redis lets requests through.
 *
 * Hand-written rather than @fastify/rate-limit: its hook (async, a store call and
 * three headers per request) cost ~25% of GET /kv's CPU per request even with
 * a store that rarely asks Redis; this one admits from memory synchronously
 * (docs/hardening.md has the figures).
 */
export default fp<RateLimitPluginOptions>(function rateLimitPlugin (app, opts, done) {
  if (opts.max === 0) return done()
  const budget = opts.store === 'shared' && app.store.kind === 'redis' ? new RedisBudget(app.redis) : new LocalBudget()
  const limiter = new RateLimiter(budget, opts.max, opts.windowMs, app.log)
  const clients = new RateLimitClients(app.isBalancer)

  const limit: onRequestHookHandler = function (request, reply, next) {
    const wait = limiter.check(clients.of(request))
    if (wait === 0) return next()
    if (typeof wait === 'number') return refuse(reply, next, wait)
    wait.then((seconds) => (seconds === 0 ? next() : refuse(reply, next, seconds)), next)
  }
  // On each route as it is added (so nothing is looked up per request), but the exempt ones.
  app.addHook('onRoute', function (route) {
    if (EXEMPT.has(route.url)) return
    route.onRequest = [...[route.onRequest ?? []].flat(), limit]
  })
  done()
}, { name: 'rate-limit', fastify: '5.x', dependencies: ['store', 'balancer'] })

function refuse (reply: FastifyReply, next: (err?: Error) => void, waitSeconds: number): void {
  reply.header('retry-after', String(waitSeconds))
  next(new RateLimitedError(waitSeconds))
}
