import { Type } from 'typebox'
import { errorResponses } from './common.js'

export const metricsSchema = {
  response: {
    200: Type.String({ description: 'Prometheus text exposition format 0.0.4' }),
    ...errorResponses
  }
}
