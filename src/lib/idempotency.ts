import { createHash } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { REPLAY_HEADER } from '../shared/contract.js'
import type { Idempotency } from '../store/store.js'

/** How long the record of a mutation with a client's Idempotency-Key (its first answer) is kept. */
export const IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60

/**
 * How long the record of a mutation keyed by the X-Request-Id nginx sets is kept.
 * That id is new for every client request and only repeats when nginx retries
 * it (within proxy_next_upstream_timeout, 10 s): keeping each for 24 h would grow
 * Redis by every POST of the day. Ten minutes covers the retries many times over.
 */
export const REQUEST_ID_TTL_SECONDS = 10 * 60

/**
 * The idempotency of a mutation: the client's Idempotency-Key (kept 24 h), else
 * the X-Request-Id nginx sets (the same across its retries; kept 10 minutes) when
 * the request came from the balancer, else none (applied every time). The
 * fingerprint names the operation, its target and its input (computed only when
 * there is a key), so a key reused for a different request is refused rather than
 * answered with someone else's result.
 *
 * A client's key is scoped to the client: its address as `trustProxy` yields it
 * (the balancer's X-Forwarded-For, else the socket peer). Another client sending
 * the same key, a guessable `order-42` say, has a key of its own: it can neither
 * claim the victim's (blocking or no-op'ing the real write) nor read its answer.
 * The price, in docs/hardening.md: a client whose address changes between a try
 * and its retry is another client, and clients behind one NAT share a scope.
 */
export function idempotencyOf (request: FastifyRequest, operation: string, target: string, input: () => string): Idempotency | undefined {
  const { 'idempotency-key': clientKey, 'x-request-id': requestId } = request.headers
  const fingerprint = () => `${operation} ${target} ${input()}`
  // An address has no "/", so the first one ends the scope.
  if (typeof clientKey === 'string') return { key: `k:${request.ip}/${clientKey}`, fingerprint: fingerprint(), ttlSeconds: IDEMPOTENCY_TTL_SECONDS }
  if (typeof requestId === 'string' && request.server.isBalancer(request.socket.remoteAddress)) {
    return { key: `r:${requestId}`, fingerprint: fingerprint(), ttlSeconds: REQUEST_ID_TTL_SECONDS }
  }
  return undefined
}

/** A short digest of a (possibly 64 KiB) input, for fingerprints. Not a security boundary. */
export function digest (input: string): string {
  return createHash('sha1').update(input).digest('base64url')
}

export function markReplay (reply: FastifyReply, replayed: boolean): void {
  if (replayed) reply.header(REPLAY_HEADER, 'true')
}
