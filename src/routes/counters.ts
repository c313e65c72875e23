import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { idempotencyOf, markReplay } from '../lib/idempotency.js'
import { getCounterSchema, incrCounterSchema } from '../schemas/counters.js'

/** Counters incremented atomically in the store. */
const counterRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/counters/:name', { schema: getCounterSchema }, async (request) => {
    const { name } = request.params
    return { name, value: await app.store.getCounter(name) }
  })

  app.post('/counters/:name/incr', {
    schema: incrCounterSchema,
    // No body at all (`curl -X POST .../incr`) means the defaults ({ by: 1 }, filled in
    // by the schema); a JSON null body is still refused by validation.
    preValidation: async (request) => { if (request.body === undefined) request.body = {} as { by: number } }
  }, async (request, reply) => {
    const { name } = request.params
    const { by } = request.body
    const idempotency = idempotencyOf(request, 'counter.incr', name, () => String(by))
    const { result: value, replayed } = await app.store.incrCounter(name, by, idempotency)
    markReplay(reply, replayed)
    return { name, value }
  })
}

export default counterRoutes
