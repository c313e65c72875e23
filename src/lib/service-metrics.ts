import { Gauge, Histogram, Registry } from 'prom-client'
import { processRegistry } from './process-metrics.js'
import type { StoreObserver } from '../store/observed-store.js'

/**
 * Request durations from 0.5 ms (a GET /kv on an idle machine) to 10 s (far past
 * nginx's read timeout): roughly ×2–2.5 a step, so p50 and p99 are readable at
 * both ends without a bucket per millisecond.
 */
export const HTTP_DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

/** Store round trips: 0.1 ms (Redis on loopback) to 1 s (past the 400 ms command timeout). */
export const STORE_DURATION_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1]

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
