/** reports/<run>/load.json: the seed's load test, one run per setup. */
import { Type, type Static } from 'typebox'
import { LoadSummarySchema, RunMetaSchema } from './common.js'

export const LoadResultSchema = Type.Object({
  kind: Type.Literal('load'),
  meta: RunMetaSchema,
  runs: Type.Array(LoadSummarySchema)
})
export type LoadResult = Static<typeof LoadResultSchema>
