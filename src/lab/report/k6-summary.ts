/**
 * Reads the numbers the report shows out of k6's handleSummary data. That
 * object is k6's, not ours: which metrics, trend stats and tags it holds depends
 * on the script and on summaryTrendStats, so every field is optional here and a
 * missing one is shown as "not measured" rather than breaking the report.
 */

export interface K6Threshold {
  metric: string
  expression: string
  ok: boolean | null
}

export interface K6Numbers {
  script: string
  file: string
  durationMs: number | null
  requests: number | null
  rps: number | null
  duration: { med: number | null, avg: number | null, p90: number | null, p95: number | null, p99: number | null, max: number | null }
  /** Fraction 0..1 of failed requests (http_req_failed). */
  failedRate: number | null
  /** Fraction 0..1 of passing checks. */
  checksRate: number | null
  /** Responses per instance, from a counter tagged {instance:...}. */
  instances: Record<string, number>
  /** http_req_duration per `endpoint` tag, when the script tags its requests. */
  endpoints: Array<{ endpoint: string, med: number | null, p95: number | null, p99: number | null }>
  /** The script's own counters and rates (e.g. incr_acked, counter_final), untagged. */
  custom: Array<{ name: string, kind: 'count' | 'rate', value: number }>
  thresholds: K6Threshold[]
}

type Json = Record<string, unknown>

function asObject (value: unknown): Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value as Json : {}
}

function asNumber (value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null
}

/** metrics[name].values[stat], or null. */
function stat (metrics: Json, name: string, key: string): number | null {
  return asNumber(asObject(asObject(metrics[name]).values)[key])
}

/** A tagged counter such as `responses_by_instance{instance:api-1}`. */
const INSTANCE_METRIC = /^([^{]+)\{instance:([^}]+)\}$/
const ENDPOINT_METRIC = /^http_req_duration\{endpoint:([^}]+)\}$/

/** The lab's k6 scripts count answers per instance under one of these names. */
const INSTANCE_COUNTERS = ['responses_by_instance', 'instance_responses']

/** k6's built-in metrics: shown in the main table, or not at all. */
const BUILT_IN = new Set([
  'http_reqs', 'http_req_duration', 'http_req_failed', 'http_req_blocked', 'http_req_connecting', 'http_req_tls_handshaking',
  'http_req_sending', 'http_req_waiting', 'http_req_receiving', 'iterations', 'iteration_duration', 'data_sent', 'data_received',
  'vus', 'vus_max', 'checks', 'group_duration'
])

/**
 * Prefers the lab's own per-instance counter; otherwise the first metric that
 * carries an instance tag, so a script that tags http_reqs works too.
 */
function instanceCounts (metrics: Json): Record<string, number> {
  const byMetric = new Map<string, Record<string, number>>()
  for (const [name, metric] of Object.entries(metrics)) {
    const match = INSTANCE_METRIC.exec(name)
    const count = asNumber(asObject(asObject(metric).values).count)
    if (match === null || count === null) continue
    const [, base, instance] = match as unknown as [string, string, string]
    const counts = byMetric.get(base) ?? {}
    counts[instance] = count
    byMetric.set(base, counts)
  }
  const preferred = INSTANCE_COUNTERS.map((name) => byMetric.get(name)).find((counts) => counts !== undefined)
  return preferred ?? byMetric.values().next().value ?? {}
}

function endpoints (metrics: Json): K6Numbers['endpoints'] {
  return Object.keys(metrics).flatMap((name) => {
    const endpoint = ENDPOINT_METRIC.exec(name)?.[1]
    if (endpoint === undefined) return []
    return [{ endpoint, med: stat(metrics, name, 'med'), p95: stat(metrics, name, 'p(95)'), p99: stat(metrics, name, 'p(99)') }]
  }).sort((a, b) => a.endpoint.localeCompare(b.endpoint))
}

/** Untagged counters and rates the script defined itself. */
function custom (metrics: Json): K6Numbers['custom'] {
  return Object.entries(metrics).flatMap(([name, metric]): K6Numbers['custom'] => {
    if (BUILT_IN.has(name) || name.includes('{')) return []
    const { type, values } = asObject(metric)
    const count = asNumber(asObject(values).count)
    const rate = asNumber(asObject(values).rate)
    if (type === 'counter' && count !== null) return [{ name, kind: 'count', value: count }]
    if (type === 'rate' && rate !== null) return [{ name, kind: 'rate', value: rate }]
    return []
  }).sort((a, b) => a.name.localeCompare(b.name))
}

function thresholds (metrics: Json): K6Threshold[] {
  const found: K6Threshold[] = []
  for (const [metric, data] of Object.entries(metrics)) {
    for (const [expression, result] of Object.entries(asObject(asObject(data).thresholds))) {
      const ok = asObject(result).ok
      found.push({ metric, expression, ok: typeof ok === 'boolean' ? ok : null })
    }
  }
  return found
}

export function readK6Summary (file: string, script: string, data: Json): K6Numbers {
  const metrics = asObject(data.metrics)
  const trend = (key: string): number | null => stat(metrics, 'http_req_duration', key)
  return {
    script,
    file,
    durationMs: asNumber(asObject(data.state).testRunDurationMs),
    requests: stat(metrics, 'http_reqs', 'count'),
    rps: stat(metrics, 'http_reqs', 'rate'),
    duration: { med: trend('med'), avg: trend('avg'), p90: trend('p(90)'), p95: trend('p(95)'), p99: trend('p(99)'), max: trend('max') },
    failedRate: stat(metrics, 'http_req_failed', 'rate'),
    checksRate: stat(metrics, 'checks', 'rate'),
    instances: instanceCounts(metrics),
    endpoints: endpoints(metrics),
    custom: custom(metrics),
    thresholds: thresholds(metrics)
  }
}

/** FAIL when a threshold failed, PASS when every one held, null when there are none (or none say). */
export function k6Passed (numbers: K6Numbers): boolean | null {
  if (numbers.thresholds.some((t) => t.ok === false)) return false
  return numbers.thresholds.length > 0 && numbers.thresholds.every((t) => t.ok === true) ? true : null
}
