import { Type } from 'typebox'
import { errorResponses } from './common.js'

export const workSchema = {
  querystring: Type.Object({
    // A string, as query values are (the app does not coerce types): 1 to 999 ms.
    ms: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,2}$', description: 'CPU milliseconds of work, 1-999 (default 5)' }))
  }, { additionalProperties: false }),
  response: {
    200: Type.Object({
      instance: Type.String(),
      ms: Type.Integer(),
      rounds: Type.Integer(),
      digest: Type.String()
    }),
    ...errorResponses
  }
}
