import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ValueTooDeepError } from '../errors.js'
import { digest, idempotencyOf, markReplay } from '../lib/idempotency.js'
import { nestsDeeperThan } from '../lib/json-depth.js'
import { getKvSchema, setKvSchema } from '../schemas/kv.js'

/** How deep a stored value may nest; far beyond any real document, far below the stack limit. */
export const MAX_VALUE_DEPTH = 64

/** A versioned key-value store: each applied write of a key bumps its version by one. */
const kvRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/kv/:key', { schema: getKvSchema }, async (request, reply) => {
    const entry = await app.store.getKv(request.params.key)
    if (entry === null) return reply.notFound(`Key ${request.params.key} not found`)
    return entry
  })

  app.post('/kv/:key', { schema: setKvSchema }, async (request, reply) => {
    const { key } = request.params
    const value = request.body.value
    if (nestsDeeperThan(value, MAX_VALUE_DEPTH)) throw new ValueTooDeepError(MAX_VALUE_DEPTH)
    const valueJson = JSON.stringify(value)
    const idempotency = idempotencyOf(request, 'kv.set', key, () => digest(valueJson))
    const { result: version, replayed } = await app.store.setKv(key, valueJson, idempotency)
    markReplay(reply, replayed)
    return reply.code(version === 1 ? 201 : 200).send({ key, value, version })
  })
}

export default kvRoutes
