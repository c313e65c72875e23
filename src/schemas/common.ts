import { Type } from 'typebox'

/** Keys and counter names: safe in a URL, in a Redis key and in a log line. */
export const NamePattern = '^[A-Za-z0-9:_.-]{1,128}$'

/** The largest body any route takes; nginx's client_max_body_size matches it. */
export const BODY_LIMIT_BYTES = 64 * 1024

/** How deep a body's arrays/objects may nest below its own object: far beyond any real document, far below the stack limit. */
export const MAX_VALUE_DEPTH = 64

/**
 * How many JSON values a body may hold. 64 KiB holds ~21,800 empty objects, each
 * ~1 MB of heap per request once built (an instance reached 457 MB at 400
 * connections); real documents of 64 KiB hold a few thousand values.
 */
export const MAX_BODY_ELEMENTS = 4096

export const ErrorResponse = Type.Object({
  statusCode: Type.Integer(),
  code: Type.String(),
  error: Type.String(),
  message: Type.String()
}, { description: 'Every error: 4xx for what the client sent, 503 while the store is down or the instance drains' })

/** Response schemas shared by every route: errors of either class. */
export const errorResponses = {
  '4xx': ErrorResponse,
  '5xx': ErrorResponse
}

/**
 * The headers a mutation may carry to be applied at most once. Idempotency-Key is
 * the client's; X-Request-Id is what nginx sets on each request (and keeps across
 * its retries on another instance). Printable ASCII, no spaces.
 */
export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ pattern: '^[!-~]{1,200}$' })),
  'x-request-id': Type.Optional(Type.String({ pattern: '^[!-~]{1,200}$' }))
})
