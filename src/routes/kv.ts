import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { digest, idempotencyOf, markReplay } from '../lib/idempotency.js'
import { getKvSchema, setKvSchema, type KvEntry } from '../schemas/kv.js'
import type { StoredKv } from '../store/store.js'

/** What Fastify names JSON answers (its own serialiser's content type), kept for the text sent as is. */
const JSON_CONTENT_TYPE = 'application/json; charset=utf-8'

/**
 * GET /kv's answer, `{ key, value, version }` in the response schema's order, built
 * around the stored JSON text instead of parsing it and serialising it again. The
 * text is JSON.stringify's output from the write (POST /kv validated the value), and
 * re-serialising parsed JSON.stringify output gives the same bytes; keys are
 * [A-Za-z0-9:_.-] (the schema's pattern), which JSON.stringify leaves as they are.
 */
export function kvEntryJson (key: string, stored: StoredKv): string {
  return `{"key":${JSON.stringify(key)},"value":${stored.valueJson},"version":${stored.version}}`
}

/** A versioned key-value store: each applied write of a key bumps its version by one. */
const kvRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/kv/:key', { schema: getKvSchema }, async (request, reply) => {
    const { key } = request.params
    const stored = await app.store.getKv(key)
    if (stored === null) return reply.notFound(`Key ${key} not found`)
    // A string with a JSON content type goes out as is: the response schema's serialiser
    // is skipped. The type provider types send() by the schema's object, hence the cast.
    return reply.type(JSON_CONTENT_TYPE).send(kvEntryJson(key, stored) as unknown as KvEntry)
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
