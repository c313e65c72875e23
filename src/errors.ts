import { STATUS_CODES } from 'node:http'
import createError from '@fastify/error'

/** Every error leaves in this shape (see ErrorResponse in schemas/common.ts). */
export function errorBody (statusCode: number, code: string, message: string) {
  return { statusCode, code, error: STATUS_CODES[statusCode] ?? 'Error', message }
}

// Domain errors: a stable `code` for clients, the status, and a message that is safe to show.

// For a POST the outcome is unknown (a Redis command can time out after Redis ran
// it): retry with the same Idempotency-Key, which applies it at most once.
export const StoreUnavailableError = createError(
  'SL_STORE_UNAVAILABLE',
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

export const IdempotencyKeyReusedError = createError(
  'SL_IDEMPOTENCY_KEY_REUSED',
  'Idempotency key %s was already used for a different request',
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
