/**
 * What the report derives from a counter's raw samples (drills/prometheus-view.ts
 * stores them): its rate between scrapes, its increase over the load, and what
 * one scrape target behind the balancer would have recorded instead. Prometheus'
 * own rule for a counter that goes down: the process restarted and counts from
 * zero, so the increase across the drop is the new value.
 */
import type { SeriesPoint } from '../results.js'

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

/** Per second between consecutive scrapes, at the later scrape's time (what it counted since the one before). */
export function ratePoints (points: SeriesPoint[]): SeriesPoint[] {
  const rates: SeriesPoint[] = []
  for (let i = 1; i < points.length; i++) {
    const seconds = points[i]!.t - points[i - 1]!.t
    if (seconds > 0) rates.push({ t: points[i]!.t, value: Math.round(step(points[i - 1]!.value, points[i]!.value) / seconds * 10) / 10 })
  }
  return rates
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
