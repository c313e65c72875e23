import { Type } from 'typebox'
import { ErrorResponse, errorResponses } from './common.js'

export const InstanceStatusSchema = Type.Object({
  instance: Type.String(),
  // Only with SHOW_INTERNALS=1.
  pid: Type.Optional(Type.Integer()),
  port: Type.Optional(Type.Integer()),
  uptimeSeconds: Type.Optional(Type.Number())
})

export const rootSchema = {
  response: { 200: InstanceStatusSchema, ...errorResponses }
}

export const HealthSchema = Type.Object({
  status: Type.Enum(['live', 'ready', 'unavailable']),
  store: Type.Optional(Type.String()),
  reason: Type.Optional(Type.String())
})

export const liveSchema = {
  response: { 200: HealthSchema, ...errorResponses }
}

export const readySchema = {
  // 503 is either the route's own "unavailable" or the drain answer every route gives while closing.
  response: { 200: HealthSchema, ...errorResponses, 503: Type.Union([HealthSchema, ErrorResponse]) }
}
