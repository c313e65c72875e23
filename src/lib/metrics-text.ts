import { Histogram, Registry, type RegistryContentType } from 'prom-client'

/**
 * One label set of a prom-client 15 histogram, as it keeps it (`hashMap`, not in
 * its types): the same object for the label set's life, its count raised by every
 * observation. A new object when the label set is zeroed, reset or removed.
 */
interface HistogramEntry {
  labels: Record<string, string | number>
  bucketValues: Record<number, number>
  sum: number
  count: number
}

/** What this reads of a histogram beyond prom-client's types. */
interface HistogramState {
  name: string
  help: string
  hashMap: Record<string, HistogramEntry>
  upperBounds: readonly number[]
  collect?: unknown
}

/** Each label set's lines as last rendered, and the count they were rendered at. */
const rendered = new WeakMap<HistogramEntry, { count: number, text: string }>()

/**
 * The registry in the Prometheus text format, byte for byte what prom-client's
 * `registry.metrics()` writes, with each histogram label set's lines rendered
 * once and kept until an observation changes them.
 *
 * Why: a drilled instance keeps every route × status code it answered as a label
 * set, 17 lines each (14 buckets, +Inf, sum, count), and prom-client builds every
 * line of every set at every scrape (an object, a label string, a join), once a
 * second, though an idle instance's sets have not changed since the last scrape
 * but for the watchdog's probe. Measured (docs/observability.md, the scrape's
 * cost): ~45 KB of text, about half of the registry's CPU a scrape.
 *
 * A label set's lines depend only on its count (every observation raises it, and
 * a zeroed or reset set is a new entry), so the count is the cache key. Anything
 * else (the process's gauges, gathered at each scrape; a histogram that collects;
 * an OpenMetrics registry, the only kind with exemplars) goes through prom-client.
 */
export async function metricsText (registry: Registry<RegistryContentType>): Promise<string> {
  if (registry.contentType !== Registry.PROMETHEUS_CONTENT_TYPE) return registry.metrics()
  const families: string[] = []
  for (const metric of registry.getMetricsAsArray()) {
    const state = metric as unknown as HistogramState
    if (metric instanceof Histogram && state.collect === undefined) {
      families.push(histogramText(state))
    } else {
      families.push(await registry.getSingleMetricAsString(metric.name))
    }
  }
  return `${families.join('\n\n')}\n`
}

function histogramText (state: HistogramState): string {
  const name = escapeText(state.name)
  const lines = [`# HELP ${name} ${escapeText(state.help)}`, `# TYPE ${name} histogram`]
  for (const entry of Object.values(state.hashMap)) {
    let cached = rendered.get(entry)
    if (cached?.count !== entry.count) {
      cached = { count: entry.count, text: entryText(name, state.upperBounds, entry) }
      rendered.set(entry, cached)
    }
    lines.push(cached.text)
  }
  return lines.join('\n')
}

/**
 * One label set's lines: a cumulative bucket per bound, +Inf, sum and count
 * (prom-client's order). Every value is finite (prom-client refuses to observe
 * anything else), so a number's own text is prom-client's.
 */
function entryText (name: string, bounds: readonly number[], entry: HistogramEntry): string {
  const labels = Object.entries(entry.labels).map(([label, value]) => `${label}="${escapeLabelValue(value)}"`).join(',')
  const afterLe = labels === '' ? '' : `,${labels}`
  const braced = labels === '' ? '' : `{${labels}}`
  const lines: string[] = []
  let cumulative = 0
  for (const bound of bounds) {
    cumulative += entry.bucketValues[bound] ?? 0
    lines.push(`${name}_bucket{le="${bound}"${afterLe}} ${cumulative}`)
  }
  lines.push(
    `${name}_bucket{le="+Inf"${afterLe}} ${entry.count}`,
    `${name}_sum${braced} ${entry.sum}`,
    `${name}_count${braced} ${entry.count}`
  )
  return lines.join('\n')
}

function escapeText (text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')
}

function escapeLabelValue (value: string | number): string | number {
  return typeof value === 'string' ? escapeText(value).replace(/"/g, '\\"') : value
}
