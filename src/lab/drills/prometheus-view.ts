/**
 * A drill's per-instance series, read from the stack's Prometheus the moment the
 * load ends (before the audit's own requests) and stored in the drill's result:
 * the report often runs after the stack is down, or on another machine, and the
 * result must render the same picture there.
 *
 * Counters are stored as their raw samples, each at its scrape time, rather than
 * as rate() or increase() on a step: those extrapolate to the window's edges and
 * a 1 s step beside a 1 s scrape aliases (a second with two samples, one with
 * none), so their sum would not be what the instances counted. From raw samples
 * the report takes exact differences, and the per-instance requests add up to
 * the load generator's count. Quantiles and gauges come from query_range, step 1 s.
 */
import { rangeQuery, rawSamples, SCRAPE_INTERVAL_S, scrapedSince, type RangeSeries } from '../stack/prometheus.js'
import { waitFor } from '../system/process.js'
import type { PrometheusView, PromSeries, SeriesPoint } from '../results.js'

/** The requests of the load as each instance counts them: every route but the health checks (the lab's and the watchdog's probes, not the load). */
const LOAD_REQUESTS = '{job="api",route!~"/health/.*"}'
const REQUESTS_SELECTOR = `http_request_duration_seconds_count${LOAD_REQUESTS}`
const REDIS_SELECTOR = 'redis_commands_processed_total{job="redis"}'
/** rate()'s window for the p99: three scrapes, so every step has at least two samples to difference. */
const RATE_WINDOW = `${3 * SCRAPE_INTERVAL_S}s`
const P99_MS = `histogram_quantile(0.99, sum by (instance, le) (rate(http_request_duration_seconds_bucket${LOAD_REQUESTS}[${RATE_WINDOW}]))) * 1000`
const LAG_MS = 'max by (instance) (nodejs_eventloop_lag_p99_seconds{job="api"}) * 1000'
const STEP_SECONDS = 1

/** Waits (at most a few scrapes) until Prometheus has scraped every instance since `sinceMs` (unix ms): its counts then include everything before. */
export async function waitForScrape (url: string, sinceMs: number): Promise<void> {
  try {
    await waitFor('Prometheus to scrape every instance', () => scrapedSince(url, 'api', sinceMs), 3000 + 3 * SCRAPE_INTERVAL_S * 1000, 100)
  } catch {
    // A target that does not answer still gets a lastScrape; past the bound, read what there is.
  }
}

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits

/**
 * One cumulative series per instance from the raw samples of a counter's series
 * (one per label set): at each scrape the instance's total over the series that
 * `counts` (0 when none does: a flat line, not a missing one). Only the last
 * scrape at or before the load's start is kept before it: the baseline.
 */
export function counterSeries (name: string, raw: RangeSeries[], fromSeconds: number, counts: (labels: Record<string, string>) => boolean = () => true): PromSeries[] {
  const byInstance = new Map<string, Map<number, number>>()
  for (const { labels, samples } of raw) {
    const instance = labels.instance ?? ''
    const totals = byInstance.get(instance) ?? new Map<number, number>()
    byInstance.set(instance, totals)
    for (const [at, value] of samples) totals.set(at, (totals.get(at) ?? 0) + (counts(labels) ? value : 0))
  }
  return [...byInstance].sort(([a], [b]) => a.localeCompare(b)).map(([instance, totals]) => {
    const points = [...totals].sort(([a], [b]) => a - b).map(([at, value]) => ({ t: round(at - fromSeconds, 3), value }))
    const baseline = points.findLastIndex((p) => p.t <= 0)
    return { name, kind: 'counter' as const, instance, points: points.slice(Math.max(0, baseline)) }
  })
}

/** One series per instance of a range query, NaN steps left out (a quantile of no requests). */
export function gaugeSeries (name: string, result: RangeSeries[], fromSeconds: number): PromSeries[] {
  return result.map(({ labels, samples }) => ({
    name,
    kind: 'gauge' as const,
    instance: labels.instance ?? '',
    points: samples.filter(([, value]) => Number.isFinite(value)).map(([at, value]): SeriesPoint => ({ t: round(at - fromSeconds, 3), value: round(value, 3) }))
  })).sort((a, b) => a.instance.localeCompare(b.instance))
}

/**
 * Reads the series of the load that ran from `fromMs` to `toMs` (unix ms), once
 * every instance has been scraped after it ended. A Prometheus that cannot be
 * read leaves the series out and says why; the drill goes on.
 */
export async function readPrometheusView (url: string, fromMs: number, toMs: number): Promise<PrometheusView> {
  const range = { url, from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString(), stepSeconds: STEP_SECONDS }
  try {
    await waitForScrape(url, toMs)
    const from = fromMs / 1000
    const at = Date.now() / 1000
    // From two scrapes before the load: the baseline is among them.
    const seconds = at - from + 2 * SCRAPE_INTERVAL_S
    const [requests, redis, p99, lag] = await Promise.all([
      rawSamples(url, REQUESTS_SELECTOR, at, seconds),
      rawSamples(url, REDIS_SELECTOR, at, seconds),
      rangeQuery(url, P99_MS, from, toMs / 1000, STEP_SECONDS),
      rangeQuery(url, LAG_MS, from, toMs / 1000, STEP_SECONDS)
    ])
    return {
      ...range,
      series: [
        ...counterSeries('requests', requests, from),
        ...counterSeries('errors-5xx', requests, from, (labels) => /^5/.test(labels.status_code ?? '')),
        ...counterSeries('redis-commands', redis, from),
        ...gaugeSeries('p99-ms', p99, from),
        ...gaugeSeries('event-loop-lag-ms', lag, from)
      ]
    }
  } catch (err) {
    return { ...range, series: [], error: err instanceof Error ? err.message : String(err) }
  }
}
