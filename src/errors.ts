import { STATUS_CODES } from 'node:http'
import createError from '@fastify/error'
import { OVERLOADED_CODE, STORE_UNAVAILABLE_CODE } from './shared/contract.js'

/** Every error leaves in this shape (see ErrorResponse in schemas/common.ts). */
export function errorBody (statusCode: number, code: string, message: string) {
  return { statusCode, code, error: STATUS_CODES[statusCode] ?? 'Error', message }
}

// Domain errors: a stable `code` for clients, the status, and a message that is safe to show.

// For a POST the outcome is unknown (a Redis command can time out after Redis ran
// it): retry with the same Idempotency-Key, which applies it at most once.
export const StoreUnavailableError = createError(
  STORE_UNAVAILABLE_CODE,
  'The store did not answer; retry (a POST with the same Idempotency-Key)',
  503
)

// Durable mode: Redis ran the mutation, but no replica confirmed it in time, so a
// failover could still lose it. Not a success, not a refusal: retry with the same
// Idempotency-Key (the replay is acknowledged once a replica has the record).
export const StoreNotReplicatedError = createError(
  'SL_STORE_NOT_REPLICATED',
  'No replica confirmed the write in time, so its outcome is unknown; retry with the same Idempotency-Key',
  503
)

export const ShuttingDownError = createError(
  'SL_SHUTTING_DOWN',
  'This instance is shutting down; retry on another',
  503
)

// Says nothing about how keys are stored: the message is the same whoever asks.
export const IdempotencyKeyReusedError = createError(
  'SL_IDEMPOTENCY_KEY_REUSED',
  'This Idempotency-Key was already used for a different request; use a new key for a new request',
  422
)

export const CounterOverflowError = createError(
  'SL_COUNTER_OVERFLOW',
  'Counter %s would leave the safe integer range',
  409
)

export const ValueTooDeepError = createError(
  'SL_VALUE_TOO_DEEP',
  'value nests deeper than %d levels',
  400
)

// JSON bodies that would be changed on their way in, or cost far more than their bytes.

export const InvalidJsonError = createError(
  'SL_INVALID_JSON',
  'Body is not valid JSON: %s',
  400
)

export const DuplicateKeyError = createError(
  'SL_DUPLICATE_KEY',
  'Duplicate key %s in a JSON object: send each key once',
  400
)

export const InexactNumberError = createError(
  'SL_INEXACT_NUMBER',
  'Number %s cannot be stored exactly: it would read back as %s; send it as a string',
  400
)

export const TooManyElementsError = createError(
  'SL_TOO_MANY_ELEMENTS',
  'Body has more than %d JSON values (objects, arrays, strings, numbers, literals)',
  400
)

export const NoRouteError = createError(
  'SL_NO_ROUTE',
  'No route %s %s',
  404
)

// Load that is refused on purpose: both carry Retry-After.

export const OverloadedError = createError(
  OVERLOADED_CODE,
  'This instance has more work than it can start soon; retry later or elsewhere',
  503
)

export const RateLimitedError = createError(
  'SL_RATE_LIMITED',
  'Too many requests from this client; retry in %d s',
  429
)

// Never seen by anyone (the client has gone): it ends the request quietly, as a 4xx
// (nginx logs the same case as 499).
export const ClientGoneError = createError(
  'SL_CLIENT_GONE',
  'The client closed the connection before the work was done',
  499
)
