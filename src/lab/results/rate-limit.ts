/** reports/<run>/rate-limit.json: one client over its limit through nginx, once per rate-limit store. */
import { Type, type Static } from 'typebox'
import { LoadSummarySchema, ResultSchema, VerdictSchema } from './common.js'

export const RateLimitPhaseSchema = Type.Object({
  /** Where the instances counted the client's budget: each alone (instance), or in Redis (shared). */
  store: Type.Union([Type.Literal('instance'), Type.Literal('shared')]),
  /** The limit the instances were given (RATE_LIMIT_MAX), per second. */
  configuredPerSecond: Type.Number(),
  /** What the client sent, per second. */
  offeredPerSecond: Type.Number(),
  sent: Type.Number(),
  /** Answered 2xx: what the limit let through. */
  admitted: Type.Number(),
  /** Answered 429 by an instance. */
  refused: Type.Number(),
  /** Answered 429 by nginx (no x-instance): the edge's limit, which must not hide the service's. */
  refusedByEdge: Type.Number(),
  /** Any other answer, or none (timeouts, socket errors). */
  other: Type.Number(),
  /** Windows in which requests were admitted (bursts of 2xx, each at a window's start): the cluster's (shared), each instance's on average (instance). */
  windows: Type.Number(),
  admittedPerWindow: Type.Number(),
  admittedPerSecond: Type.Number(),
  /** admittedPerSecond ÷ configuredPerSecond: 1 when the limit holds for the cluster. */
  ratio: Type.Number(),
  /** 2xx per x-instance: with the instance store each admits the whole limit. */
  admittedByInstance: Type.Record(Type.String(), Type.Number()),
  load: LoadSummarySchema
})
/** One store's run. */
export type RateLimitPhase = Static<typeof RateLimitPhaseSchema>

export const RateLimitResultSchema = ResultSchema('rate-limit', {
  options: Type.Object({
    /** RATE_LIMIT_MAX: requests per client and window. */
    limit: Type.Number(),
    windowMs: Type.Number(),
    /** The client sent this many times the limit. */
    over: Type.Number(),
    /** Windows sent per store. */
    windows: Type.Number(),
    /** Instances behind nginx: the N of "N × the limit". */
    instances: Type.Number()
  }),
  phases: Type.Array(RateLimitPhaseSchema),
  verdict: VerdictSchema
})
/** reports/<run>/rate-limit.json */
export type RateLimitResult = Static<typeof RateLimitResultSchema>
