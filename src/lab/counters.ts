/**
 * What the lab derives from a counter's raw samples (drills/prometheus-view.ts
 * stores them): its rate between scrapes, its increase over the load, whether the
 * instances' counts add up to the load generator's, and what one scrape target
 * behind the balancer would have recorded instead. Prometheus' own rule for a
 * counter that goes down: the process restarted and counts from zero, so the
 * increase across the drop is the new value.
 */
import type { PrometheusView, SeriesPoint, VerdictCheck } from './results.js'

/** The target (issue 11): the instances' requests sum to what the load generator counted, within 2%. */
export const COUNT_TOLERANCE = 0.02

/** The increase from `before` to `after`: their difference, or after a reset (a drop) all of `after`. */
const step = (before: number, after: number) => (after >= before ? after - before : after)

/** The counter's increase over its points, resets included (the first point is the baseline). */
export function increaseOf (points: SeriesPoint[]): number {
  let total = 0
  for (let i = 1; i < points.length; i++) total += step(points[i - 1]!.value, points[i]!.value)
  return total
}

/** How many times the counter went down (read as restarts). */
export function resetsOf (points: SeriesPoint[]): number {
  let resets = 0
  for (let i = 1; i < points.length; i++) if (points[i]!.value < points[i - 1]!.value) resets++
  return resets
}

const perSecond = (increase: number, seconds: number) => Math.round(increase / seconds * 10) / 10

/**
 * Per second between consecutive scrapes, at the later scrape's time (what it
 * counted since the one before). Scrapes missing for more than half an interval:
 * across a reset the process was down, so the rate is 0 until the interval before
 * the next scrape (the new process counted since then); without one it lived on
 * unscraped, and the increase is spread over the gap. A series that ends before
 * `until` (an instance gone) reads 0 from then on.
 */
export function ratePoints (points: SeriesPoint[], intervalSeconds = 1, until?: number): SeriesPoint[] {
  const rates: SeriesPoint[] = []
  for (let i = 1; i < points.length; i++) {
    const { t, value } = points[i]!
    const before = points[i - 1]!
    const seconds = t - before.t
    if (seconds > 1.5 * intervalSeconds && value < before.value) {
      rates.push({ t: t - intervalSeconds, value: 0 }, { t, value: perSecond(value, intervalSeconds) })
    } else if (seconds > 0) {
      rates.push({ t, value: perSecond(step(before.value, value), seconds) })
    }
  }
  const last = points.at(-1)
  if (until !== undefined && last !== undefined && until - last.t > 1.5 * intervalSeconds) rates.push({ t: until, value: 0 })
  return rates
}

/** The points in runs without a gap of more than one and a half intervals (a line breaks where scrapes are missing). */
export function runsOf (points: SeriesPoint[], intervalSeconds = 1): SeriesPoint[][] {
  const runs: SeriesPoint[][] = []
  for (const [i, point] of points.entries()) {
    if (i === 0 || point.t - points[i - 1]!.t > 1.5 * intervalSeconds) runs.push([])
    runs.at(-1)!.push(point)
  }
  return runs
}

/** A scrape through the balancer: when, which instance answered it, the counter it read. */
export interface BalancedScrape extends SeriesPoint {
  instance: string
}

/**
 * One scrape a second through a round-robin balancer: scrape k lands on the next
 * instance in turn (one that has not been scraped for two seconds is down, and the
 * balancer passes it over), and reads that instance's counter as it was then. The
 * counters are the instances' own samples, so this is what a target behind the
 * balancer would have stored. Null with fewer than two instances (nothing to mix up).
 */
export function scrapedThroughBalancer (counters: Array<{ instance: string, points: SeriesPoint[] }>, intervalSeconds = 1): BalancedScrape[] | null {
  if (counters.length < 2) return null
  const last = Math.max(...counters.flatMap((c) => c.points.map((p) => p.t)))
  const scrapes: BalancedScrape[] = []
  let turn = 0
  for (let t = 0; t <= last; t += intervalSeconds) {
    for (let tried = 0; tried < counters.length; tried++) {
      const { instance, points } = counters[turn++ % counters.length]!
      const latest = points.findLast((p) => p.t <= t)
      if (latest === undefined || t - latest.t > 2 * intervalSeconds) continue
      scrapes.push({ t, value: latest.value, instance })
      break
    }
  }
  return scrapes
}

/** Each instance's requests over the load (its `requests` series), and how often its counter restarted. */
export function requestsCounted (view: PrometheusView): Array<{ instance: string, total: number, resets: number }> {
  return view.series.filter((s) => s.name === 'requests').map((s) => ({ instance: s.instance, total: increaseOf(s.points), resets: resetsOf(s.points) }))
}

/**
 * The instances' requests, summed, against the load generator's count: an
 * informational row (a killed instance loses what it counted since its last
 * scrape; a request nginx retried is counted by every instance that answered it).
 */
export function requestCountCheck (view: PrometheusView, sent: number): VerdictCheck {
  const total = requestsCounted(view).reduce((sum, c) => sum + c.total, 0)
  const off = sent === 0 ? null : (total - sent) / sent
  return {
    name: 'requests the instances counted (Prometheus) vs the load generator',
    expected: `within ${COUNT_TOLERANCE * 100}%`,
    actual: `${off === null ? 'nothing sent' : `${off >= 0 ? '+' : ''}${(off * 100).toFixed(1)}%`} (${total} vs ${sent})`,
    pass: off !== null && Math.abs(off) <= COUNT_TOLERANCE,
    informational: true
  }
}
