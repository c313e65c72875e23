import createError from '@fastify/error'

// Domain errors: a stable `code` for clients, the status, and a message that is safe to show.

export const StoreUnavailableError = createError(
  'SL_STORE_UNAVAILABLE',
  'The store is unavailable; retry shortly',
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
