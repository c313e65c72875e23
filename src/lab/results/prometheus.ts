/**
 * What Prometheus saw of a drill, per instance, fetched when the load ended and
 * stored in the drill's result: the report often runs after the stack (and its
 * Prometheus) is down, and a result file must render the same picture later,
 * anywhere. Times are seconds since the load started, as on the drill's timeline.
 */
import { Type, type Static } from 'typebox'
import { Slug } from './common.js'

export const SeriesPointSchema = Type.Object({ t: Type.Number(), value: Type.Number() })
/** One point of a series: seconds since the load started, and the value then. */
export type SeriesPoint = Static<typeof SeriesPointSchema>

export const PromSeriesSchema = Type.Object({
  /**
   * `requests`, `errors-5xx`, `redis-commands`: counters, every raw sample (their
   * exact scrape times), cumulative, so the report takes exact differences;
   * `p99-ms`, `event-loop-lag-ms`: one value per second (query_range, step 1 s).
   */
  name: Slug,
  kind: Type.Union([Type.Literal('counter'), Type.Literal('gauge')]),
  /** api-1..api-N, or redis. */
  instance: Type.String(),
  points: Type.Array(SeriesPointSchema)
})
/** One per-instance series from Prometheus. */
export type PromSeries = Static<typeof PromSeriesSchema>

export const PrometheusViewSchema = Type.Object({
  /** The Prometheus that scraped the stack (http://127.0.0.1:PROM_PORT). */
  url: Type.String(),
  /** The load's time range, which the series cover (with the scrape before it). */
  from: Type.String({ format: 'date-time' }),
  to: Type.String({ format: 'date-time' }),
  /** The gauges' step, and the scrape interval the counters were sampled at (SCRAPE_INTERVAL_S). */
  stepSeconds: Type.Number(),
  series: Type.Array(PromSeriesSchema),
  /** Why there are no series, when Prometheus ran but could not be read. */
  error: Type.Optional(Type.String())
})
/** A drill's time range in Prometheus, and the series read from it. */
export type PrometheusView = Static<typeof PrometheusViewSchema>
