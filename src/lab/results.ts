/**
 * The result files the lab writes under reports/<run>/ and the report renders.
 * This is the contract between the producers (load, drills, check, bench) and
 * the consumer (report): change both sides together. Every file is JSON with a
 * `kind`; times are milliseconds unless a name says otherwise.
 */

/** Where and when a result was measured. */
export interface RunMeta {
  /** The run folder's name, e.g. 2026-11-28T01-20-00Z. */
  run: string
  /** ISO time the command started. */
  startedAt: string
  /** ISO time it ended (with startedAt, the run's time range). */
  endedAt?: string
  host: {
    cpus: number
    node: string
    nginx?: string
    redis?: string
  }
}

/** Latency percentiles of one load run, in milliseconds. */
export interface Latency {
  p50: number
  p90: number
  p99: number
  max: number
  mean: number
}

/** One second of a load run (for timelines). */
export interface TimelinePoint {
  /** Seconds since the load started (0, 1, 2...). */
  t: number
  /** Responses received in that second (any status). */
  responses: number
  /** Client-visible errors in that second: non-2xx answers, socket errors, timeouts. */
  errors: number
  /** Latency of that second's responses (ms), when recorded. */
  latencyMs?: { p50: number, p99: number, max: number }
}

/** What one load run measured. */
export interface LoadSummary {
  label: string
  engine: 'autocannon' | 'wrk' | 'open-model'
  /** The URL (or base URL for a mix) the load went to. */
  target: string
  connections: number
  durationSeconds: number
  /** Responses received (any status). */
  requests: number
  /** Responses per second over the run. */
  rps: number
  latencyMs: Latency
  /** Client-visible errors: `non2xx:<status>`, `socket:<code>`, `timeout`. */
  errors: { total: number, byKind: Record<string, number> }
  /** Responses per x-instance header (who answered), when recorded. */
  instances?: Record<string, number>
  /** Per-second responses and errors, when recorded. */
  timeline?: TimelinePoint[]
  /** For open-model runs: the rate asked for. */
  targetRps?: number
}

/** One rule of a verdict: what was expected, what was measured, and whether it holds. */
export interface VerdictCheck {
  name: string
  expected: string
  actual: string
  pass: boolean
  /** Informational rows are reported but do not decide the verdict. */
  informational?: boolean
}

export interface Verdict {
  pass: boolean
  checks: VerdictCheck[]
}

/**
 * The write audit: every mutation the load sent, by outcome, and the rules
 * checked against what the store holds afterwards.
 */
export interface AuditResult {
  /** Answered 2xx. */
  acknowledged: number
  /** Certainly not applied: answered 4xx, or refused before being sent. */
  failed: number
  /** Maybe applied: timeout, reset, 502/503/504, or no answer. */
  indeterminate: number
  rules: Array<{ name: string, pass: boolean, detail: string }>
}

/** An event on a drill's timeline. */
export interface DrillEvent {
  /** Seconds since the load started. */
  t: number
  type: string
  /** The instance (api-2) or part (redis) concerned. */
  target?: string
  detail?: string
}

/** reports/<run>/<drill>.json */
export interface DrillResult {
  kind: 'drill'
  drill: string
  meta: RunMeta
  options: Record<string, string | number | boolean>
  load: LoadSummary
  events: DrillEvent[]
  /** kill: per killed worker, how long until it answered /health/ready and until nginx routed to it. */
  recoveries?: Array<{ target: string, killedAtSeconds: number, readyAfterMs: number | null, routedAfterMs: number | null }>
  /** PM2's restarts per app during the drill. */
  restarts?: Record<string, number>
  /** Per-fault rows a drill wants tabled (one per kill, per failover...). */
  faults?: Array<Record<string, string | number | boolean | null>>
  audit: AuditResult
  verdict: Verdict
}

/** reports/<run>/check-<store>.json */
export interface CheckResult {
  kind: 'check'
  meta: RunMeta
  store: 'redis' | 'memory'
  keys: number
  concurrency: number
  load: LoadSummary
  reads: {
    total: number
    /** Read back as 404 after the write was acknowledged. */
    missed: number
    /** Read back with a lower version than acknowledged. */
    stale: number
    /** Read back with the version but another value. */
    wrongValue: number
    /** Answered with neither 200 nor 404 (an error), so not read back at all. */
    failed: number
  }
  counters: Array<{
    name: string
    acknowledged: number
    /** What a read through the balancer says. */
    final: number
    /** What each instance says when asked directly. */
    perInstance: Record<string, number>
  }>
  audit: AuditResult
  verdict: Verdict
}

/** reports/<run>/load.json: the seed's load test, one run per setup. */
export interface LoadResult {
  kind: 'load'
  meta: RunMeta
  runs: LoadSummary[]
}

/** One configuration of the bench matrix. */
export interface BenchCell {
  /** Stable identifier, e.g. "nginx-4-kv-redis". */
  id: string
  label: string
  /** hot-path: the stack with one hot-path choice undone (logging, keepalive...), to measure what it is worth. */
  group: 'baseline' | 'ceiling' | 'direct' | 'balanced' | 'store' | 'cpu' | 'hot-path'
  /** What served it: the seed's Express, node:cluster, nginx alone, one instance direct, or nginx in front. */
  via: 'express' | 'cluster' | 'nginx-only' | 'direct' | 'nginx'
  /** API instances behind it (null for nginx alone). */
  instances: number | null
  keepalive?: boolean
  route: string
  store?: 'redis' | 'memory'
  /** Every repetition, in the order run (interleaved with the other cells). */
  runs: LoadSummary[]
  /** Medians over the repetitions. */
  median: { rps: number, latencyMs: Pick<Latency, 'p50' | 'p90' | 'p99'>, errors: number }
  /** Median CPU seconds per repetition, per process group, from /proc. */
  cpuSeconds: { loadgen: number, nginx: number, api: number, redis: number }
}

/** A target the bench reports against (measured in the same run). */
export interface BenchTarget {
  name: string
  /** How the number is computed, in words. */
  formula: string
  value: number | null
  goal: string
  met: boolean | null
}

/** reports/<run>/bench.json */
export interface BenchResult {
  kind: 'bench'
  meta: RunMeta
  engine: 'wrk' | 'autocannon'
  repetitions: number
  durationSeconds: number
  connections: number
  cells: BenchCell[]
  /** Latency the way SLOs are set: an open-model run at half the stack's measured max. */
  openModel: LoadSummary | null
  targets: BenchTarget[]
}

export type AnyResult = DrillResult | CheckResult | LoadResult | BenchResult
