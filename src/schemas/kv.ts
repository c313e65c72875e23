import { Type, type Static } from 'typebox'
import { IdempotencyHeaders, NamePattern, errorResponses } from './common.js'

export const KvParams = Type.Object({
  key: Type.String({ pattern: NamePattern })
})

export const KvBody = Type.Object({
  value: Type.Unknown({ description: 'Any JSON value' })
}, { additionalProperties: false, required: ['value'] })

export const KvEntrySchema = Type.Object({
  key: Type.String(),
  value: Type.Unknown(),
  version: Type.Integer({ minimum: 1, description: '1 on the first write, +1 per applied write' })
})
export type KvEntry = Static<typeof KvEntrySchema>

export const getKvSchema = {
  params: KvParams,
  response: { 200: KvEntrySchema, ...errorResponses }
}

export const setKvSchema = {
  params: KvParams,
  headers: IdempotencyHeaders,
  body: KvBody,
  response: { 200: KvEntrySchema, 201: KvEntrySchema, ...errorResponses }
}
