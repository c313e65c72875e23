import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ClientGoneError } from '../errors.js'
import { Admission, type AdmissionOptions } from '../lib/admission.js'
import { WorkThread } from '../lib/work-thread.js'
import { ROUNDS_PER_MS } from '../lib/work-thread-script.js'
import { workSchema } from '../schemas/work.js'

/** How long a refused client is told to wait (Retry-After, seconds). */
const RETRY_AFTER_SECONDS = '1'

/**
 * GET /work?ms=N — a CPU-bound request (~N ms of hashing on one core). Trivial
 * routes are bound by I/O and the balancer; this one shows the real scaling law:
 * throughput grows with instances up to the number of cores, then flattens.
 *
 * It cannot starve the instance: the hashing runs in a thread of its own below the
 * event loop's priority (WorkThread), so requests, health checks and Redis replies
 * come first (run on the event loop in one piece, 48 concurrent ms=999 held it so
 * long that the Redis client's timeouts fired and unrelated routes got 503); it
 * stops when the client has gone; and at most WORK_CONCURRENCY run per instance,
 * with a short queue (Admission).
 */
const workRoutes: FastifyPluginAsyncTypebox<AdmissionOptions & { nice: number }> = async (app, opts) => {
  const admission = new Admission(opts)
  const thread = new WorkThread({ nice: opts.nice })
  app.addHook('onClose', async () => { await thread.close() })

  app.get('/work', { schema: workSchema }, async (request, reply) => {
    const ms = Number(request.query.ms ?? '5')
    try {
      await admission.acquire()
    } catch (err) {
      reply.header('retry-after', RETRY_AFTER_SECONDS)
      throw err
    }
    // The response closes before it is sent only when the client's connection does.
    const clientGone = new AbortController()
    const abandon = (): void => { clientGone.abort() }
    reply.raw.once('close', abandon)
    try {
      if (request.socket.destroyed) abandon() // gone while it waited for its slot
      const outcome = await thread.run(ms, clientGone.signal)
      if (!outcome.done) {
        request.log.debug({ ms, doneMs: outcome.doneMs }, 'work abandoned: the client has gone')
        throw new ClientGoneError()
      }
      return { instance: app.instance.id, ms, rounds: ms * ROUNDS_PER_MS, digest: outcome.digest }
    } finally {
      reply.raw.off('close', abandon)
      admission.release()
    }
  })
}

export default workRoutes
