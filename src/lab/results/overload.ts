/**
 * reports/<run>/overload.json (overload-no-shed.json for the "before"): one
 * route's capacity, measured closed-model, then open-model arrival rates at
 * multiples of it, each with what clients got within their timeout and what
 * nginx did for them (tries per request), and the verdict at the highest level.
 */
import { Type, type Static } from 'typebox'
import { LatencySchema, LoadSummarySchema, Nullable, ResultSchema, VerdictSchema } from './common.js'

export const OverloadLevelSchema = Type.Object({
  /** The multiple of the measured capacity offered (0.5, 1, 1.5, 2). */
  multiple: Type.Number(),
  /** Arrival rate asked for, requests per second. */
  offeredRps: Type.Number(),
  /** Seconds of measured schedule at that rate. */
  durationSeconds: Type.Number(),
  /** Requests scheduled in those seconds: goodput + shed + failed. */
  offered: Type.Number(),
  /** Answered 2xx within the client's timeout. */
  goodput: Type.Number(),
  /** Refused explicitly and in time: 503 SL_OVERLOADED, or 429. */
  shed: Type.Number(),
  /** Everything else: timeouts, late answers, other statuses, socket errors, never answered. */
  failed: Type.Number(),
  failedByKind: Type.Record(Type.String(), Type.Number()),
  /** The counts above per second of schedule. */
  goodputRps: Type.Number(),
  shedRps: Type.Number(),
  failedRps: Type.Number(),
  /** Latency (from the schedule) of the goodput answers, or null when there were none. */
  answeredMs: Nullable(Type.Pick(LatencySchema, ['p50', 'p99'])),
  /** p99 of the shed answers as the client timed them (from the schedule), or null when none was shed. */
  shedP99Ms: Nullable(Type.Number()),
  /** p99 of the refusals as nginx timed them (request read → answered; its access log), or null when it logged none. Absent in older runs. */
  nginxShedP99Ms: Type.Optional(Nullable(Type.Number())),
  /** Upstream tries per client request in nginx's access log, or null when the log had none of these requests. */
  triesPerRequest: Nullable(Type.Number()),
  /** The requests nginx's log holds for this level (what triesPerRequest is over). */
  loggedRequests: Type.Number()
})
/** One level of offered load. */
export type OverloadLevel = Static<typeof OverloadLevelSchema>

export const OverloadResultSchema = ResultSchema('overload', {
  /** What the run was asked for, then the policy of the stack it ran against. */
  options: Type.Object({
    /** GET path and query loaded (/work?ms=5). */
    path: Type.String(),
    /** Multiples of the measured capacity offered, ascending. */
    levels: Type.Array(Type.Number()),
    levelSeconds: Type.Number(),
    /** How long a client waited for an answer. */
    timeoutMs: Type.Number(),
    /** The instances shed past their admission bound (WORK_SHED=1); false: the "before" picture. */
    shed: Type.Boolean(),
    /** nginx retried 502/503 answers on other instances (the old policy). */
    retryShed: Type.Boolean()
  }),
  /** The closed-model run that measured the capacity, and its goodput (2xx per second). */
  capacity: Type.Object({ load: LoadSummarySchema, goodputRps: Type.Number() }),
  levels: Type.Array(OverloadLevelSchema),
  verdict: VerdictSchema
})
/** reports/<run>/overload.json */
export type OverloadResult = Static<typeof OverloadResultSchema>

/** How the run was asked for, as the flags that differ from the default: '', ' --no-shed' or ' --retry-shed' (titles, summaries). */
export function overloadFlags (result: Pick<OverloadResult, 'options'>): string {
  return result.options.shed ? (result.options.retryShed ? ' --retry-shed' : '') : ' --no-shed'
}
