import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { digest, idempotencyOf, markReplay } from '../lib/idempotency.js'
import { getKvSchema, setKvSchema } from '../schemas/kv.js'

/** A versioned key-value store: each applied write of a key bumps its version by one. */
const kvRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/kv/:key', { schema: getKvSchema }, async (request, reply) => {
    const entry = await app.store.getKv(request.params.key)
    if (entry === null) return reply.notFound(`Key ${request.params.key} not found`)
    return entry
  })

  app.post('/kv/:key', { schema: setKvSchema }, async (request, reply) => {
    const { key } = request.params
    // Bounded in bytes, depth and element count by the JSON body parser (plugins/json-body.ts).
    const value = request.body.value
    const valueJson = JSON.stringify(value)
    const idempotency = idempotencyOf(request, 'kv.set', key, () => digest(valueJson))
    const { result: version, replayed } = await app.store.setKv(key, valueJson, idempotency)
    markReplay(reply, replayed)
    return reply.code(version === 1 ? 201 : 200).send({ key, value, version })
  })
}

export default kvRoutes
