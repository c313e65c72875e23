/**
 * The parts every result file shares: where and when it was measured, what a
 * load run saw, the write audit and the verdict. TypeBox schemas, each with its
 * type of the same name (`Static<>`), so the contract is written once and both
 * checked at run time (report/read-run.ts) and at compile time.
 */
import { Type, type Static, type TProperties, type TSchema } from 'typebox'

/** A value, or null where the run could not measure it. */
export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()])

/** Lower-case words joined by dashes: the name of a drill or an event type. */
export const Slug = Type.String({ pattern: '^[a-z0-9-]+$' })

/** An option's or a table cell's value: what JSON holds besides objects and arrays. */
export const Scalar = Type.Union([Type.String(), Type.Number(), Type.Boolean()])

export const RunMetaSchema = Type.Object({
  /** The run folder's name, e.g. 2026-11-28T01-20-00Z. */
  run: Type.String(),
  /** ISO time the command started. */
  startedAt: Type.String({ format: 'date-time' }),
  /** ISO time it ended: with startedAt, the time range to ask Prometheus about. */
  endedAt: Type.Optional(Type.String({ format: 'date-time' })),
  host: Type.Object({
    cpus: Type.Number(),
    node: Type.String(),
    nginx: Type.Optional(Type.String()),
    redis: Type.Optional(Type.String())
  })
})
/** Where and when a result was measured. */
export type RunMeta = Static<typeof RunMetaSchema>

/** A result file's schema: the `kind` read-run.ts recognises it by, where and when it was measured, then what it measured. */
export function ResultSchema<Kind extends string, Properties extends TProperties> (kind: Kind, properties: Properties) {
  return Type.Object({ kind: Type.Literal(kind), meta: RunMetaSchema, ...properties })
}

export const LatencySchema = Type.Object({
  p50: Type.Number(),
  p90: Type.Number(),
  p99: Type.Number(),
  max: Type.Number(),
  mean: Type.Number()
})
/** Latency percentiles of one load run, in milliseconds. */
export type Latency = Static<typeof LatencySchema>

export const TimelinePointSchema = Type.Object({
  /** Seconds since the load started (0, 1, 2...). */
  t: Type.Number(),
  /** Responses received in that second (any status). */
  responses: Type.Number(),
  /** Client-visible errors in that second: non-2xx answers, socket errors, timeouts. */
  errors: Type.Number(),
  /** Latency of the responses received in that second, when the load generator records it. */
  latencyMs: Type.Optional(Type.Pick(LatencySchema, ['p50', 'p99', 'max']))
})
/** One second of a load run (for timelines). */
export type TimelinePoint = Static<typeof TimelinePointSchema>

export const LoadSummarySchema = Type.Object({
  label: Type.String(),
  engine: Type.Union([Type.Literal('autocannon'), Type.Literal('wrk'), Type.Literal('open-model')]),
  /** The URL (or base URL for a mix) the load went to. */
  target: Type.String(),
  connections: Type.Number(),
  durationSeconds: Type.Number(),
  /** Responses received (any status). */
  requests: Type.Number(),
  /** Responses per second over the run. */
  rps: Type.Number(),
  latencyMs: LatencySchema,
  /** Client-visible errors: `non2xx:<status>`, `socket:<code>`, `timeout`. */
  errors: Type.Object({ total: Type.Number(), byKind: Type.Record(Type.String(), Type.Number()) }),
  /** Responses per x-instance header (who answered), when recorded. */
  instances: Type.Optional(Type.Record(Type.String(), Type.Number())),
  /** Per-second responses and errors, when recorded. */
  timeline: Type.Optional(Type.Array(TimelinePointSchema)),
  /** For open-model runs: the rate asked for. */
  targetRps: Type.Optional(Type.Number())
})
/** What one load run measured. */
export type LoadSummary = Static<typeof LoadSummarySchema>

export const VerdictCheckSchema = Type.Object({
  name: Type.String(),
  expected: Type.String(),
  actual: Type.String(),
  pass: Type.Boolean(),
  /** Informational rows are reported but do not decide the verdict. */
  informational: Type.Optional(Type.Boolean())
})
/** One rule of a verdict: what was expected, what was measured, and whether it holds. */
export type VerdictCheck = Static<typeof VerdictCheckSchema>

export const VerdictSchema = Type.Object({ pass: Type.Boolean(), checks: Type.Array(VerdictCheckSchema) })
export type Verdict = Static<typeof VerdictSchema>

export const AuditResultSchema = Type.Object({
  /** Answered 2xx. */
  acknowledged: Type.Number(),
  /** Certainly not applied: answered 4xx, or refused before being sent. */
  failed: Type.Number(),
  /** Maybe applied: timeout, reset, 502/503/504, or no answer. */
  indeterminate: Type.Number(),
  rules: Type.Array(Type.Object({ name: Type.String(), pass: Type.Boolean(), detail: Type.String() }))
})
/**
 * The write audit: every mutation the load sent, by outcome, and the rules
 * checked against what the store holds afterwards.
 */
export type AuditResult = Static<typeof AuditResultSchema>
