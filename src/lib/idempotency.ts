import { createHash } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { IDEMPOTENCY_TTL_SECONDS, REQUEST_ID_TTL_SECONDS, type Idempotency } from '../store/store.js'

/** Response header present (value "true") when an answer is the replay of an earlier one. */
export const REPLAY_HEADER = 'idempotent-replay'

/**
 * The idempotency of a mutation: the client's Idempotency-Key (kept 24 h), else
 * the X-Request-Id nginx sets (the same across its retries; kept 10 minutes),
 * else none (applied every time). The fingerprint names the operation, its
 * target and its input (computed only when there is a key), so a key reused for
 * a different request is refused rather than answered with someone else's result.
 */
export function idempotencyOf (request: FastifyRequest, operation: string, target: string, input: () => string): Idempotency | undefined {
  const { 'idempotency-key': clientKey, 'x-request-id': requestId } = request.headers
  const [key, ttlSeconds] = typeof clientKey === 'string'
    ? [`k:${clientKey}`, IDEMPOTENCY_TTL_SECONDS]
    : typeof requestId === 'string' ? [`r:${requestId}`, REQUEST_ID_TTL_SECONDS] : [undefined, 0]
  if (key === undefined) return undefined
  return { key, fingerprint: `${operation} ${target} ${input()}`, ttlSeconds }
}

/** A short digest of a (possibly 64 KiB) input, for fingerprints. Not a security boundary. */
export function digest (input: string): string {
  return createHash('sha1').update(input).digest('base64url')
}

export function markReplay (reply: FastifyReply, replayed: boolean): void {
  if (replayed) reply.header(REPLAY_HEADER, 'true')
}
