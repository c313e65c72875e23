import { getHeapStatistics } from 'node:v8'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { StoreObserver } from '../store/observed-store.js'

/**
 * Request durations from 0.5 ms (a GET /kv on an idle machine) to 10 s (far past
 * nginx's read timeout): roughly ×2–2.5 a step, so p50 and p99 are readable at
 * both ends without a bucket per millisecond.
 */
export const HTTP_DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

/** Store round trips: 0.1 ms (Redis on loopback) to 1 s (past the 400 ms command timeout). */
export const STORE_DURATION_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1]

/**
 * How often the event-loop delay is sampled (prom-client's default is 10 ms). Each
 * sample wakes an idle process: at 10 ms an idle instance spent ~1% of a core on
 * it here, at 50 ms ~0.3%. Twenty samples a second still catch every stall longer
 * than 50 ms whole, and a 1 s scrape's p99 is then its worst sample.
 */
export const EVENT_LOOP_SAMPLE_MS = 50

/** The `route` label of requests that matched no route: one value, never the raw URL. */
export const UNMATCHED_ROUTE = 'unmatched'

/** One app's metrics: its own registry (with the process's metrics in it) and what its hooks record. */
export interface ServiceMetrics {
  registry: Registry
  httpDuration: Histogram<'method' | 'route' | 'status_code'>
  /** Requests being served now; a gauge reads it at scrape time, so a request costs an increment. */
  inFlight: { count: number }
  draining: Gauge
  store: StoreObserver
}

/**
 * Builds an app's metrics in a registry of its own (never prom-client's global
 * one), so that several apps in one process (the tests) never count each other's
 * requests. Label values come from fixed sets (methods, route templates, status
 * codes, store operations and outcomes): no key, counter name or URL ever becomes
 * a label, so the number of series is bounded whatever clients send.
 */
export function createServiceMetrics (): ServiceMetrics {
  const registry = new Registry()
  const registers = [registry]

  const httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time from receiving a request to finishing its response, by method, route template and status code.',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: HTTP_DURATION_BUCKETS,
    registers
  })

  const inFlight = { count: 0 }
  registry.registerMetric(new Gauge({
    name: 'http_requests_in_flight',
    help: 'Requests received and not yet answered (GET /metrics itself not included).',
    registers: [],
    collect () { this.set(inFlight.count) }
  }))

  const draining = new Gauge({
    name: 'service_draining',
    help: '1 once the instance has begun a graceful shutdown (new requests get 503 while in-flight ones finish), else 0.',
    registers
  })
  draining.set(0)

  // One histogram for both questions: its _count by outcome is the outcomes (one
  // observation a store call instead of two), its buckets the round-trip times.
  const storeDuration = new Histogram({
    name: 'store_operation_duration_seconds',
    help: 'Store operations by operation and outcome (ok, replayed: an idempotent replay, unavailable: a 503, not_replicated: a durable-mode 503, refused: a 4xx, error: a 500) and how long each took; on STORE=redis one Redis round trip (plus its WAIT in durable mode).',
    labelNames: ['operation', 'outcome'] as const,
    buckets: STORE_DURATION_BUCKETS,
    registers
  })
  const store: StoreObserver = {
    observe (operation, outcome, seconds) {
      storeDuration.observe({ operation, outcome }, seconds)
    }
  }

  return { registry: Registry.merge([processRegistry(), registry]), httpDuration, inFlight, draining, store }
}

/**
 * Which of prom-client's default metrics an instance serves: event-loop lag, GC,
 * heap and resident memory, CPU and start time. Each default is gathered when
 * scraped, and a scrape a second of all of them cost an idle instance ~2.7 ms of
 * CPU here; the rest (the heap's spaces, open and max file descriptors, active
 * handles, requests and resources, the Node version) ~1.7 ms of it, and nothing
 * the dashboard, the reports or the docs read. Dropped so that scraping every
 * second stays within its CPU budget (docs/observability.md). The heap's three
 * (HEAP_METRICS) are kept under their names but read by this file.
 */
export const PROCESS_METRICS = [
  'process_cpu_user_seconds_total', 'process_cpu_system_seconds_total', 'process_cpu_seconds_total',
  'process_start_time_seconds', 'process_resident_memory_bytes', 'process_virtual_memory_bytes', 'process_heap_bytes',
  'nodejs_eventloop_lag_seconds', 'nodejs_eventloop_lag_min_seconds', 'nodejs_eventloop_lag_max_seconds',
  'nodejs_eventloop_lag_mean_seconds', 'nodejs_eventloop_lag_stddev_seconds', 'nodejs_eventloop_lag_p50_seconds',
  'nodejs_eventloop_lag_p90_seconds', 'nodejs_eventloop_lag_p99_seconds',
  'nodejs_gc_duration_seconds'
]

/**
 * prom-client's heap gauges, read from v8.getHeapStatistics() (the same three
 * numbers) instead of process.memoryUsage(): once a second, memoryUsage() cost an
 * idle process 120-700 µs of CPU, getHeapStatistics() 18-74 µs — memoryUsage() was
 * the largest single cost of a scrape (docs/observability.md, "What the metrics cost").
 */
export const HEAP_METRICS = {
  nodejs_heap_size_total_bytes: { help: 'Process heap size from Node.js in bytes.', field: 'total_heap_size' },
  nodejs_heap_size_used_bytes: { help: 'Process heap size used from Node.js in bytes.', field: 'used_heap_size' },
  nodejs_external_memory_bytes: { help: 'Node.js external memory size in bytes.', field: 'external_memory' }
} as const

let processMetrics: Registry | undefined

/**
 * The process's own metrics: prom-client's defaults that PROCESS_METRICS keeps, and
 * event-loop utilisation. One set per process, shared by every app in it: the
 * event loop and the heap are the process's, and each set starts a sampler and a
 * GC observer that nothing can stop, so one per app would pile up.
 */
function processRegistry (): Registry {
  if (processMetrics) return processMetrics
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS })
  for (const { name } of registry.getMetricsAsArray()) {
    if (!PROCESS_METRICS.includes(name)) registry.removeSingleMetric(name)
  }
  for (const [name, { help, field }] of Object.entries(HEAP_METRICS)) {
    registry.registerMetric(new Gauge({ name, help, registers: [], collect () { this.set(getHeapStatistics()[field]) } }))
  }
  let reported = 0
  registry.registerMetric(new Counter({
    name: 'nodejs_eventloop_active_seconds_total',
    help: 'Time the event loop spent busy (not waiting for I/O). Its rate() is the event-loop utilisation, 0 to 1.',
    registers: [],
    collect () {
      const active = performance.eventLoopUtilization().active / 1000
      this.inc(active - reported)
      reported = active
    }
  }))
  processMetrics = registry
  return registry
}
