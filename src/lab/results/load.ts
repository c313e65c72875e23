/** reports/<run>/load.json: the seed's load test, one run per setup. */
import { Type, type Static } from 'typebox'
import { LoadSummarySchema, ResultSchema } from './common.js'

export const LoadResultSchema = ResultSchema('load', { runs: Type.Array(LoadSummarySchema) })
export type LoadResult = Static<typeof LoadResultSchema>
