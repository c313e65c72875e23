/** reports/<run>/check-<store>.json: writes read back through the balancer, counters asked of every instance. */
import { Type, type Static } from 'typebox'
import { AuditResultSchema, LoadSummarySchema, ResultSchema, VerdictSchema } from './common.js'

export const CheckResultSchema = ResultSchema('check', {
  store: Type.Union([Type.Literal('redis'), Type.Literal('memory')]),
  keys: Type.Number(),
  concurrency: Type.Number(),
  load: LoadSummarySchema,
  reads: Type.Object({
    total: Type.Number(),
    /** Read back as 404 after the write was acknowledged. */
    missed: Type.Number(),
    /** Read back with a lower version than acknowledged. */
    stale: Type.Number(),
    /** Read back with the version but another value. */
    wrongValue: Type.Number(),
    /** Answered with neither 200 nor 404 (an error), so not read back at all. */
    failed: Type.Number()
  }),
  counters: Type.Array(Type.Object({
    name: Type.String(),
    acknowledged: Type.Number(),
    /** What a read through the balancer says. */
    final: Type.Number(),
    /** What each instance says when asked directly. */
    perInstance: Type.Record(Type.String(), Type.Number())
  })),
  audit: AuditResultSchema,
  verdict: VerdictSchema
})
/** reports/<run>/check-<store>.json */
export type CheckResult = Static<typeof CheckResultSchema>
