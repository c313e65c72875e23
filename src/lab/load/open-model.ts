import { Agent, request } from 'node:http'
import type { LoadSummary } from '../results.js'
import { percentile, round } from '../stats.js'
import { localTarget } from './local-target.js'

/**
 * An open-model load generator: request i is due at start + i / rate, whatever
 * happened to the requests before it, and its latency is counted from that
 * scheduled time, not from when it could be sent. A slow server therefore shows
 * as latency (queueing included), instead of quietly lowering the rate the way a
 * closed loop does (coordinated omission). autocannon's `overallRate` is not
 * this: each connection fires its per-second quota back-to-back at each second
 * boundary, i.e. bursts at saturation.
 */
export interface OpenModelOptions {
  label: string
  /** Full URL, always 127.0.0.1. */
  url: string
  /** Requests per second. */
  rate: number
  durationSeconds: number
  /**
   * Seconds sent on the same schedule before the measured part, not recorded (default 0).
   * Opening the sockets (and nginx's upstream connections) costs tens of ms at first,
   * which would otherwise land in a short run's p99.
   */
  warmupSeconds?: number
}

/** Keep-alive sockets at most; requests beyond wait their turn, and that wait counts. */
const MAX_SOCKETS = 64
/** Per-request timeout. */
const TIMEOUT_MS = 10_000

/** Sends `rate × durationSeconds` GETs on schedule (after the warm-up's) and summarises them (engine 'open-model'). */
export function runOpenModel (options: OpenModelOptions): Promise<LoadSummary> {
  const target = localTarget(options.url)
  if (!(options.rate > 0) || !(options.durationSeconds > 0)) throw new Error('rate and duration must be positive')

  const measured = Math.max(1, Math.round(options.rate * options.durationSeconds))
  const skipped = Math.round(options.rate * (options.warmupSeconds ?? 0))
  const total = skipped + measured
  const intervalMs = 1000 / options.rate
  const agent = new Agent({ keepAlive: true, maxSockets: MAX_SOCKETS })
  const latencies = new Float64Array(measured)
  const errorsByKind: Record<string, number> = {}
  let responses = 0
  let settled = 0
  let sent = 0
  let lastAnswer = 0

  return new Promise((resolve) => {
    const start = performance.now()
    const measuredStart = start + skipped * intervalMs
    let pumpTimer: NodeJS.Timeout | undefined
    let finished = false

    const finish = () => {
      if (finished) return
      finished = true
      clearTimeout(pumpTimer)
      clearTimeout(hardStop)
      agent.destroy()
      const unanswered = measured - settledMeasured
      if (unanswered > 0) errorsByKind['not-sent-or-unanswered'] = unanswered
      const sorted = latencies.slice(0, responses).sort()
      const elapsed = Math.max(0, (lastAnswer || performance.now()) - measuredStart) / 1000
      const r3 = (v: number) => round(v, 3)
      resolve({
        label: options.label,
        engine: 'open-model',
        target: options.url,
        connections: MAX_SOCKETS,
        durationSeconds: round(elapsed, 2),
        requests: responses,
        rps: elapsed > 0 ? round(responses / elapsed, 1) : 0,
        latencyMs: {
          p50: r3(percentile(sorted, 50)),
          p90: r3(percentile(sorted, 90)),
          p99: r3(percentile(sorted, 99)),
          max: r3(sorted.length > 0 ? sorted[sorted.length - 1]! : 0),
          mean: r3(sorted.length > 0 ? sorted.reduce((a, b) => a + b, 0) / sorted.length : 0)
        },
        errors: { total: Object.values(errorsByKind).reduce((a, b) => a + b, 0), byKind: errorsByKind },
        targetRps: options.rate
      })
    }
    // Bounded in time as well as in requests: the schedule, plus one timeout, plus a second.
    const hardStop = setTimeout(finish, total * intervalMs + TIMEOUT_MS + 1000)

    let settledMeasured = 0
    const settle = (i: number, kind: string | null) => {
      if (i >= skipped) {
        if (kind !== null) errorsByKind[kind] = (errorsByKind[kind] ?? 0) + 1
        settledMeasured++
      }
      settled++
      if (settled === total) finish()
    }

    const send = (i: number) => {
      const scheduled = start + i * intervalMs
      let done = false
      const req = request(target, { agent, method: 'GET', timeout: TIMEOUT_MS }, (res) => {
        res.resume()
        res.once('end', () => {
          if (done) return
          done = true
          if (i >= skipped) {
            lastAnswer = performance.now()
            latencies[responses++] = lastAnswer - scheduled
          }
          const status = res.statusCode ?? 0
          settle(i, status >= 200 && status <= 299 ? null : `non2xx:${status}`)
        })
      })
      req.once('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })))
      req.once('error', (err: NodeJS.ErrnoException) => {
        if (done) return
        done = true
        settle(i, err.code === 'TIMEOUT' ? 'timeout' : `socket:${err.code ?? err.message}`)
      })
      req.end()
    }

    // Send whatever is due, then sleep until the next request is (timers are ~1 ms grained;
    // a late timer shows up as latency, since latency counts from the scheduled time).
    const pump = () => {
      const due = Math.min(total, Math.floor((performance.now() - start) / intervalMs) + 1)
      while (sent < due) send(sent++)
      if (sent < total) pumpTimer = setTimeout(pump, Math.max(0, start + sent * intervalMs - performance.now()))
    }
    pump()
  })
}
