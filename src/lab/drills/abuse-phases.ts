/**
 * The abuse drill's arithmetic, apart from the stack: what the normal clients saw
 * in each attack's window, how much of a flood the edge refused, and the verdict
 * rows both make. Pure functions (test/unit/abuse.test.ts).
 */
import type { VerdictCheck } from '../results.js'
import type { AbusePhase } from '../results/abuse.js'
import { percentile, round } from '../stats.js'
import type { AccessLine } from '../stack/access-log.js'
import type { Operation } from './mix.js'

/** The targets (docs/hardening.md, "The abuse drill"). */
export interface AbuseBounds {
  /** Normal clients during each attack: the share of requests answered 2xx. */
  normalSuccessPercent: number
  /** Normal clients during each attack: p99 latency (open model: from the schedule). */
  normalP99Ms: number
  /** The request flood: the share of its requests beyond the edge's allowance refused with 429. */
  floodRefusedPercent: number
  /** The request flood: p99 of its 429s, from the moment each was sent. */
  refusalP99Ms: number
  /** The write flood: p99 of its 503s once Redis is full. */
  fullStoreP99Ms: number
}

export const ABUSE_BOUNDS: AbuseBounds = { normalSuccessPercent: 99.9, normalP99Ms: 100, floodRefusedPercent: 90, refusalP99Ms: 10, fullStoreP99Ms: 100 }

/** One answer a normal client got: when its request was sent (ms since the load started), its status, its latency. */
export interface NormalAnswer {
  sentAtMs: number
  operation: Operation
  status: number
  latencyMs: number
}

/** What the normal clients saw in one window. `excuseFullStore`: writes answered 503 are counted apart (a full Redis refuses everyone's writes). */
export function normalStats (answers: readonly NormalAnswer[], fromMs: number, untilMs: number, excuseFullStore = false): AbusePhase['normal'] {
  const inWindow = answers.filter((a) => a.sentAtMs >= fromMs && a.sentAtMs < untilMs)
  const isWrite = (a: NormalAnswer) => a.operation === 'kvSet' || a.operation === 'incr'
  const excused = excuseFullStore ? inWindow.filter((a) => isWrite(a) && a.status === 503).length : 0
  const judged = inWindow.length - excused
  const ok = inWindow.filter((a) => a.status >= 200 && a.status < 300).length
  const latencies = inWindow.map((a) => a.latencyMs).sort((a, b) => a - b)
  return {
    requests: inWindow.length,
    ok,
    excused,
    successPercent: judged === 0 ? 0 : round((100 * ok) / judged, 3),
    p99Ms: latencies.length === 0 ? null : round(percentile(latencies, 99), 1),
    maxMs: latencies.length === 0 ? null : round(latencies[latencies.length - 1]!, 1)
  }
}

/** The normal clients' two rows for one phase. */
export function normalChecks (phase: string, normal: AbusePhase['normal'], bounds: AbuseBounds): VerdictCheck[] {
  const judged = normal.requests - normal.excused
  const excused = normal.excused > 0 ? ` (${normal.excused} writes refused by the full store not counted)` : ''
  return [
    {
      name: `${phase}: normal clients answered 2xx`,
      expected: `≥ ${bounds.normalSuccessPercent} %`,
      actual: `${normal.successPercent} % of ${judged}${excused}`,
      pass: judged > 0 && normal.successPercent >= bounds.normalSuccessPercent
    },
    {
      name: `${phase}: normal clients' p99`,
      expected: `≤ ${bounds.normalP99Ms} ms`,
      actual: normal.p99Ms === null ? 'no answers' : `${normal.p99Ms} ms`,
      pass: normal.p99Ms !== null && normal.p99Ms <= bounds.normalP99Ms
    }
  ]
}

/**
 * How much of a flood the edge refused, counted on what it had to refuse: nginx's
 * limit_req admits `rate` a second plus a `burst` at once, so a perfect limiter
 * refuses exactly the requests beyond that allowance (at 10× the rate, 90% of the
 * flood less the burst). The share is of those.
 */
export function floodRefusal (flood: { sent: number, refused: number, seconds: number }, limit: { rate: number, burst: number }): { allowance: number, excess: number, refusedPercent: number } {
  const allowance = Math.round(limit.rate * flood.seconds + limit.burst)
  const excess = Math.max(0, flood.sent - allowance)
  return { allowance, excess, refusedPercent: excess === 0 ? 0 : round(Math.min(100, (100 * flood.refused) / excess), 2) }
}

/** p99 of some latencies (ms, rounded), or null when there are none. */
export function p99Of (latencies: readonly number[] | undefined): number | null {
  if (latencies === undefined || latencies.length === 0) return null
  return round(percentile([...latencies].sort((a, b) => a - b), 99), 2)
}

/**
 * How long nginx itself took over the answers of `status` to `path`: its
 * $request_time, from the request's first byte read to the answer's last byte
 * sent. It logs whole milliseconds, so 0 is under 1 ms.
 */
export function edgeTimes (lines: readonly AccessLine[], path: string, status: number): string {
  const times = lines.filter((l) => l.path === path && l.status === status).map((l) => Math.round(l.endedAtMs - l.startedAtMs))
  if (times.length === 0) return `no ${status} in nginx's log`
  const p99 = p99Of(times)!
  return `${p99 < 1 ? '< 1' : p99} ms (max ${times.reduce((a, b) => Math.max(a, b))} ms) over ${times.length.toLocaleString('en-US')}`
}

/** "429 × 5,012, 404 × 301": answers by status, most first ("no answer" for 0). */
export function statusSummary (byStatus: Record<string, number>): string {
  const entries = Object.entries(byStatus).sort((a, b) => b[1] - a[1])
  if (entries.length === 0) return 'none'
  return entries.map(([status, n]) => `${status === '0' ? 'no answer' : status} × ${n.toLocaleString('en-US')}`).join(', ')
}

/** A JSON body of `{}`s as many as fit in `bytes`: `{"value":[{},{},...]}` (the most values per byte). */
export function manySmallObjectsBody (bytes: number): string {
  const envelope = '{"value":[]}'.length
  const count = Math.max(1, Math.floor((bytes - envelope + 1) / 3))
  return `{"value":[${Array.from({ length: count }, () => '{}').join(',')}]}`
}
