import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks'
import { getHeapStatistics } from 'node:v8'
import { Counter, Gauge, Registry } from 'prom-client'
// prom-client's own collectors for the defaults kept as they are. Its
// collectDefaultMetrics() would start all sixteen (and one event-loop sampler that
// nothing can stop), so the ones kept are taken one by one.
import gcCollector from 'prom-client/lib/metrics/gc.js'
import processCpuTotal from 'prom-client/lib/metrics/processCpuTotal.js'
import processStartTime from 'prom-client/lib/metrics/processStartTime.js'

/**
 * How often the event-loop delay is sampled (prom-client's default is 10 ms). Each
 * sample wakes an idle process: at 10 ms an idle instance spent ~1% of a core on
 * it here, at 50 ms ~0.3%. Twenty samples a second still catch every stall longer
 * than 50 ms whole, and a 1 s scrape's p99 is then its worst sample.
 */
export const EVENT_LOOP_SAMPLE_MS = 50

/**
 * The event-loop delay since the previous scrape, under prom-client's names and
 * help, read from one sampler (monitorEventLoopDelay) and reset at each scrape.
 * prom-client's mean and standard deviation are left out: nothing reads them, and
 * its standard deviation walks the whole histogram, ~0.5 ms of an idle instance's
 * CPU at every scrape here (its mean ~0.1 ms), a percentile ~0.02 ms.
 */
const EVENT_LOOP_DELAY = {
  nodejs_eventloop_lag_min_seconds: { help: 'The minimum recorded event loop delay.', read: (h: IntervalHistogram) => h.min },
  nodejs_eventloop_lag_max_seconds: { help: 'The maximum recorded event loop delay.', read: (h: IntervalHistogram) => h.max },
  nodejs_eventloop_lag_p50_seconds: { help: 'The 50th percentile of the recorded event loop delays.', read: (h: IntervalHistogram) => h.percentile(50) },
  nodejs_eventloop_lag_p90_seconds: { help: 'The 90th percentile of the recorded event loop delays.', read: (h: IntervalHistogram) => h.percentile(90) },
  nodejs_eventloop_lag_p99_seconds: { help: 'The 99th percentile of the recorded event loop delays.', read: (h: IntervalHistogram) => h.percentile(99) }
} as const

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

/**
 * Every process metric an instance serves: what the dashboard, the reports or the
 * docs read. prom-client's other defaults (the heap's spaces, file descriptors,
 * active handles, requests and resources, the Node version, virtual memory) are
 * not gathered: each is read at every scrape, and a scrape a second of all of
 * them cost an idle instance ~1.7 ms of CPU here, for nothing anyone reads.
 */
export const PROCESS_METRICS = [
  'process_cpu_user_seconds_total', 'process_cpu_system_seconds_total', 'process_cpu_seconds_total',
  'process_start_time_seconds', 'process_resident_memory_bytes',
  'nodejs_eventloop_lag_seconds', ...Object.keys(EVENT_LOOP_DELAY),
  'nodejs_eventloop_active_seconds_total',
  'nodejs_gc_duration_seconds',
  ...Object.keys(HEAP_METRICS)
]

let processMetrics: Registry | undefined

/**
 * The process's own metrics (PROCESS_METRICS). One set per process, shared by every
 * app in it: the event loop and the heap are the process's, and the set starts a
 * sampler and a GC observer that nothing can stop, so one per app would pile up.
 */
export function processRegistry (): Registry {
  if (processMetrics) return processMetrics
  const registry = new Registry()
  processCpuTotal(registry)
  processStartTime(registry)
  for (const metric of [residentMemory(), ...eventLoopDelay(), eventLoopActive()]) registry.registerMetric(metric)
  gcCollector(registry)
  for (const metric of heapSizes()) registry.registerMetric(metric)
  processMetrics = registry
  return registry
}

function residentMemory (): Gauge {
  return new Gauge({
    name: 'process_resident_memory_bytes',
    help: 'Resident memory size in bytes.',
    registers: [],
    // prom-client reads and parses /proc/self/status for it (and two sizes nothing reads): ~4× the CPU of this.
    collect () { this.set(process.memoryUsage.rss()) }
  })
}

/**
 * nodejs_eventloop_lag_seconds (how late a callback runs now: set when the
 * scrape's setImmediate runs, so a scrape reads the one before's, as prom-client
 * does) and EVENT_LOOP_DELAY's gauges after it, all set by its collect, which the
 * registry runs before it writes them.
 */
function eventLoopDelay (): Gauge[] {
  const delay = monitorEventLoopDelay({ resolution: EVENT_LOOP_SAMPLE_MS })
  delay.enable()
  const gauges = Object.entries(EVENT_LOOP_DELAY).map(([name, { help, read }]) => ({ gauge: new Gauge({ name, help, registers: [] }), read }))
  const lag: Gauge = new Gauge({
    name: 'nodejs_eventloop_lag_seconds',
    help: 'Lag of event loop in seconds.',
    registers: [],
    collect () {
      const start = process.hrtime.bigint()
      setImmediate(() => lag.set(Number(process.hrtime.bigint() - start) / 1e9))
      for (const { gauge, read } of gauges) gauge.set(read(delay) / 1e9)
      delay.reset()
    }
  })
  return [lag, ...gauges.map(({ gauge }) => gauge)]
}

/**
 * HEAP_METRICS's gauges from one read of the heap's statistics a scrape: the first
 * gauge's collect sets all three, before the registry writes any of them (as
 * nodejs_eventloop_lag_seconds does for the delay's).
 */
function heapSizes (): Gauge[] {
  const gauges = Object.entries(HEAP_METRICS).map(([name, { help, field }], i) =>
    ({ field, gauge: new Gauge({ name, help, registers: [], collect: i === 0 ? setAll : undefined }) }))
  function setAll (): void {
    const heap = getHeapStatistics()
    for (const { gauge, field } of gauges) gauge.set(heap[field])
  }
  return gauges.map(({ gauge }) => gauge)
}

function eventLoopActive (): Counter {
  let reported = 0
  return new Counter({
    name: 'nodejs_eventloop_active_seconds_total',
    help: 'Time the event loop spent busy (not waiting for I/O). Its rate() is the event-loop utilisation, 0 to 1.',
    registers: [],
    collect () {
      const active = performance.eventLoopUtilization().active / 1000
      this.inc(active - reported)
      reported = active
    }
  })
}
