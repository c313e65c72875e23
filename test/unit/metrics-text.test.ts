import t from 'tap'
import { Counter, Gauge, Histogram, Registry, type OpenMetricsContentType } from 'prom-client'
import { metricsText } from '../../src/lib/metrics-text.js'
import { createServiceMetrics } from '../../src/lib/service-metrics.js'

// GET /metrics renders histograms itself, keeping each label set's lines until an
// observation changes them: its text must stay prom-client's, byte for byte.

function filledRegistry () {
  const registry = new Registry()
  const registers = [registry]
  const labelled = new Histogram({ name: 'req_seconds', help: 'Requests,\nby "route" \\ code.', labelNames: ['route', 'code'] as const, buckets: [0.001, 0.1, 1], registers })
  const plain = new Histogram({ name: 'plain_seconds', help: 'No labels.', buckets: [0.5, 2], registers })
  const unobserved = new Histogram({ name: 'never_seconds', help: 'Labelled, never observed.', labelNames: ['kind'] as const, registers })
  new Counter({ name: 'done_total', help: 'A counter.', labelNames: ['kind'] as const, registers }).inc({ kind: 'a' }, 3)
  new Gauge({ name: 'level', help: 'A gauge.', registers }).set(7)
  labelled.observe({ route: '/kv/:key', code: 200 }, 0.0004)
  labelled.observe({ route: '/kv/:key', code: 200 }, 0.05)
  labelled.observe({ route: '/kv/:key', code: 503 }, 0.4)
  labelled.observe({ route: 'odd "route"\\ with\na newline', code: 404 }, 3)
  plain.observe(1.25)
  return { registry, labelled, plain, unobserved }
}

t.test('the same text as prom-client: labels, escapes, label sets without labels or observations, other kinds', async (t) => {
  const { registry } = filledRegistry()
  const text = await metricsText(registry)
  t.equal(text, await registry.metrics())
  t.match(text, 'req_seconds_bucket{le="0.1",route="/kv/:key",code="200"} 2', 'buckets are cumulative, le first')
  t.match(text, 'plain_seconds_sum 1.25')
})

t.test('a label set is rendered again when an observation changes it, and only then', async (t) => {
  const { registry, labelled, plain, unobserved } = filledRegistry()
  await metricsText(registry)

  labelled.observe({ route: '/kv/:key', code: 200 }, 0.2)
  labelled.observe({ route: '/counters/:name', code: 200 }, 0.002)
  unobserved.observe({ kind: 'now' }, 0.3)
  plain.observe(0.1)
  t.equal(await metricsText(registry), await registry.metrics(), 'changed and new label sets')

  labelled.zero({ route: '/kv/:key', code: 503 })
  t.equal(await metricsText(registry), await registry.metrics(), 'a zeroed label set')
  labelled.remove({ route: '/counters/:name', code: 200 })
  plain.reset()
  t.equal(await metricsText(registry), await registry.metrics(), 'a removed label set, a reset histogram')

  // The cache is keyed by the count: a bucket changed behind prom-client's back
  // (never done outside this test) does not show until the count moves.
  const state = labelled as unknown as { hashMap: Record<string, { labels: { code: number }, bucketValues: Record<number, number> }> }
  const entry = Object.values(state.hashMap).find((e) => e.labels.code === 404)!
  entry.bucketValues[1] = 99
  t.not(await metricsText(registry), await registry.metrics(), 'an unchanged count: the kept lines')
  labelled.observe({ route: 'odd "route"\\ with\na newline', code: 404 }, 3)
  t.equal(await metricsText(registry), await registry.metrics(), 'a new observation: rendered again')
})

t.test('what it does not render itself goes through prom-client', async (t) => {
  const registry = new Registry()
  let collected = 0
  new Histogram({ name: 'collected_seconds', help: 'Collects when scraped.', registers: [registry], collect () { collected++ } }).observe(0.2)
  t.equal(await metricsText(registry), await registry.metrics())
  t.equal(collected, 2, 'the collecting histogram collected at each')

  const open = new Registry<OpenMetricsContentType>()
  open.setContentType(Registry.OPENMETRICS_CONTENT_TYPE)
  new Histogram({ name: 'open_seconds', help: 'OpenMetrics, with exemplars.', enableExemplars: true, registers: [open] }).observe({ value: 0.3, labels: {}, exemplarLabels: { trace: 'a1' } })
  t.equal(await metricsText(open), await open.metrics(), 'an OpenMetrics registry: prom-client whole')
  t.match(await metricsText(open), /# EOF\n$/)
})

t.test("the service's own families, filled, are prom-client's text", async (t) => {
  const { registry, httpDuration, store } = createServiceMetrics()
  httpDuration.observe({ method: 'GET', route: '/kv/:key', status_code: 200 }, 0.0007)
  httpDuration.observe({ method: 'POST', route: '/counters/:name/incr', status_code: 503 }, 0.4)
  store.observe('getKv', 'ok', 0.0002)
  store.observe('setKv', 'unavailable', 0.4)
  // The process's families (CPU, memory, GC) move between two scrapes: compare the rest.
  const service = (text: string) => text.split('\n\n').filter((family) => /^# HELP (http|store|service)_/.test(family))
  const ours = service(await metricsText(registry))
  t.equal(ours.length, 4, 'requests, in flight, draining, store')
  t.strictSame(ours, service(await registry.metrics()))
})
