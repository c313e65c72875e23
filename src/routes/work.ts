import { hash } from 'node:crypto'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ClientGoneError } from '../errors.js'
import { Admission, type AdmissionOptions } from '../lib/admission.js'
import { CpuTurns } from '../lib/cpu-turns.js'
import { workSchema } from '../schemas/work.js'

/**
 * SHA-256 rounds that take about 1 ms of CPU on the machine this lab was built on
 * (measured inside the route: ~520 rounds per CPU-ms on one core). The work is a
 * fixed amount, not a wall-clock spin, so a busy machine shows up as lower
 * throughput, not as less work.
 */
export const ROUNDS_PER_MS = 520

/** How long a refused client is told to wait (Retry-After, seconds). */
const RETRY_AFTER_SECONDS = '1'

/** What each round hashes: the previous round's hex digest, then 1 KiB of data. */
const HEX_DIGEST_LENGTH = 64
const DATA_BYTES = 1024

/**
 * GET /work?ms=N — a CPU-bound request (~N ms of hashing on one core). Trivial
 * routes are bound by I/O and the balancer; this one shows the real scaling law:
 * throughput grows with instances up to the number of cores, then flattens.
 *
 * It cannot starve the instance: the hashing runs in ~1 ms slices, one per turn of
 * the event loop across all works (CpuTurns), so requests, health checks and Redis
 * replies are served between them (in one piece, 48 concurrent ms=999 held the loop
 * so long that the Redis client's timeouts fired and unrelated routes got 503); it
 * stops when the client has gone; and at most WORK_CONCURRENCY run per instance,
 * with a short queue (Admission).
 */
const workRoutes: FastifyPluginAsyncTypebox<AdmissionOptions> = async (app, opts) => {
  const admission = new Admission(opts)
  const turns = new CpuTurns()

  app.get('/work', { schema: workSchema }, async (request, reply) => {
    const ms = Number(request.query.ms ?? '5')
    try {
      await admission.acquire()
    } catch (err) {
      reply.header('retry-after', RETRY_AFTER_SECONDS)
      throw err
    }
    try {
      // One-shot hashing into a hex string: no Hash object and no Buffer a round. With
      // createHash() their collection ran on V8's helper threads and one instance used
      // 1.13 cores, leaving a second instance on 2 cores ~0.7 of one (docs/bench.md).
      const input = Buffer.alloc(HEX_DIGEST_LENGTH + DATA_BYTES, 0x5a)
      let digest = ''
      for (let slice = 0; slice < ms; slice++) {
        await turns.next()
        if (request.socket.destroyed) {
          request.log.debug({ ms, doneMs: slice }, 'work abandoned: the client has gone')
          throw new ClientGoneError()
        }
        for (let i = 0; i < ROUNDS_PER_MS; i++) {
          digest = hash('sha256', input, 'hex')
          input.write(digest, 0, 'latin1')
        }
      }
      return { instance: app.instance.id, ms, rounds: ms * ROUNDS_PER_MS, digest }
    } finally {
      admission.release()
    }
  })
}

export default workRoutes
