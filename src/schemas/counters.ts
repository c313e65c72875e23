import { Type } from 'typebox'
import { IdempotencyHeaders, NamePattern, errorResponses } from './common.js'

export const CounterParams = Type.Object({
  name: Type.String({ pattern: NamePattern })
})

/** Bounded so a single request cannot push a counter past the safe integer range in one step. */
export const MAX_INCREMENT = 1_000_000_000

export const IncrBody = Type.Object({
  by: Type.Integer({ minimum: -MAX_INCREMENT, maximum: MAX_INCREMENT, default: 1 })
}, { additionalProperties: false })

export const CounterSchema = Type.Object({
  name: Type.String(),
  value: Type.Integer()
})

export const getCounterSchema = {
  params: CounterParams,
  response: { 200: CounterSchema, ...errorResponses }
}

export const incrCounterSchema = {
  params: CounterParams,
  headers: IdempotencyHeaders,
  body: IncrBody,
  response: { 200: CounterSchema, ...errorResponses }
}
