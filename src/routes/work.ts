import { createHash } from 'node:crypto'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { workSchema } from '../schemas/work.js'

/**
 * SHA-256 rounds that take about 1 ms of CPU on the machine this lab was built on
 * (measured: ~230 rounds per CPU-ms on one core). The work is a fixed amount, not
 * a wall-clock spin, so a busy machine shows up as lower throughput, not as less work.
 */
export const ROUNDS_PER_MS = 230

const block = Buffer.alloc(1024, 0x5a)

/**
 * GET /work?ms=N — a CPU-bound request (~N ms of hashing on one core). Trivial
 * routes are bound by I/O and the balancer; this one shows the real scaling law:
 * throughput grows with instances up to the number of cores, then flattens.
 */
const workRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/work', { schema: workSchema }, async (request) => {
    const ms = Number(request.query.ms ?? '5')
    const rounds = ms * ROUNDS_PER_MS
    let digest: Buffer = block
    for (let i = 0; i < rounds; i++) {
      digest = createHash('sha256').update(digest).update(block).digest()
    }
    return { instance: app.instance.id, ms, rounds, digest: digest.toString('hex') }
  })
}

export default workRoutes
