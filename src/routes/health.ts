import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { liveSchema, readySchema } from '../schemas/root.js'

/**
 * Liveness (the process answers) and readiness (it can serve: the store answers
 * and it is not shutting down). A balancer or orchestrator routes on readiness
 * and restarts on liveness, so a Redis outage never gets the processes killed.
 */
const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  // Still 200 while draining: the process is alive, just not taking work.
  app.get('/health/live', { schema: liveSchema, config: { servesWhileClosing: true } }, async () => ({ status: 'live' as const }))

  app.get('/health/ready', { schema: readySchema }, async (_request, reply) => {
    try {
      await app.store.ping()
      return { status: 'ready' as const, store: app.store.kind }
    } catch {
      return reply.code(503).send({ status: 'unavailable' as const, store: app.store.kind, reason: 'store unreachable' })
    }
  })
}

export default healthRoutes
