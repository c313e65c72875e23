import { createHash } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Idempotency } from '../store/store.js'

/** Response header present (value "true") when an answer is the replay of an earlier one. */
export const REPLAY_HEADER = 'idempotent-replay'

/**
 * The idempotency of a mutation: the client's Idempotency-Key, else the
 * X-Request-Id nginx sets (the same across its retries), else none (applied
 * every time). The fingerprint names the operation, its target and its input,
 * so a key reused for a different request is refused rather than answered
 * with someone else's result.
 */
export function idempotencyOf (request: FastifyRequest, operation: string, target: string, input: string): Idempotency | undefined {
  const headers = request.headers
  const key = headers['idempotency-key'] ?? headers['x-request-id']
  if (typeof key !== 'string') return undefined
  return { key, fingerprint: `${operation} ${target} ${input}` }
}

/** A short digest of a (possibly 64 KiB) input, for fingerprints. Not a security boundary. */
export function digest (input: string): string {
  return createHash('sha1').update(input).digest('base64url')
}

export function markReplay (reply: FastifyReply, replayed: boolean): void {
  if (replayed) reply.header(REPLAY_HEADER, 'true')
}
