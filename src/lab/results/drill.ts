/** reports/<run>/<drill>.json: a fault injected under load, what clients saw, the write audit and the verdict. */
import { Type, type Static } from 'typebox'
import { AbusePhaseSchema } from './abuse.js'
import { AuditResultSchema, LoadSummarySchema, Nullable, ResultSchema, Scalar, Slug, VerdictSchema } from './common.js'
import { PrometheusViewSchema } from './prometheus.js'

export const DrillEventSchema = Type.Object({
  /** Seconds since the load started. */
  t: Type.Number(),
  /**
   * kill, ready, routed, reload-start, reload-done, redis-down, redis-up, first-2xx...
   * Any slug: a new drill brings its own event types without a contract change
   * (the report draws the ones it does not know as labelled marks).
   */
  type: Slug,
  /** The instance (api-2) or part (redis) concerned. */
  target: Type.Optional(Type.String()),
  detail: Type.Optional(Type.String())
})
/** An event on a drill's timeline. */
export type DrillEvent = Static<typeof DrillEventSchema>

export const DrillResultSchema = ResultSchema('drill', {
  /** The drill's name (kill, reload, redis...): any slug, so a new drill needs no contract change. */
  drill: Slug,
  options: Type.Record(Type.String(), Scalar),
  load: LoadSummarySchema,
  events: Type.Array(DrillEventSchema),
  /** kill: per killed worker, how long until it answered /health/ready and until nginx routed to it. */
  recoveries: Type.Optional(Type.Array(Type.Object({
    target: Type.String(),
    killedAtSeconds: Type.Number(),
    readyAfterMs: Nullable(Type.Number()),
    routedAfterMs: Nullable(Type.Number())
  }))),
  /**
   * One row per fault a drill wants tabled (one per kill, per failover...): the
   * report shows them as a table, the keys as columns, in the order first seen.
   */
  faults: Type.Optional(Type.Array(Type.Record(Type.String(), Nullable(Scalar)))),
  /** PM2's restarts per app during the drill. */
  restarts: Type.Optional(Type.Record(Type.String(), Type.Number())),
  /** Per-instance series from the stack's Prometheus over the load, when it ran with the stack (OBSERVE=1). */
  prometheus: Type.Optional(PrometheusViewSchema),
  /** abuse: one row per attack (results/abuse.ts). */
  phases: Type.Optional(Type.Array(AbusePhaseSchema)),
  audit: AuditResultSchema,
  verdict: VerdictSchema
})
/** reports/<run>/<drill>.json */
export type DrillResult = Static<typeof DrillResultSchema>
