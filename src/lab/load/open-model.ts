import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http'
import type { LoadSummary, TimelinePoint } from '../results.js'
import { percentile, round } from '../stats.js'
import type { LoadTick } from './autocannon.js'
import { localTarget } from './local-target.js'

/**
 * An open-model load generator: request i is due at start + i / rate, whatever
 * happened to the requests before it, and its latency is counted from that
 * scheduled time, not from when it could be sent. A slow server therefore shows
 * as latency (queueing included), instead of quietly lowering the rate the way a
 * closed loop does (coordinated omission). autocannon's `overallRate` is not
 * this: each connection fires its per-second quota back-to-back at each second
 * boundary, i.e. bursts at saturation — and a connection stuck on a frozen
 * instance stops sending, which hides exactly what a gray failure costs.
 */
export interface OpenRequest {
  method: 'GET' | 'POST'
  /** Path and query, appended to the base URL. */
  path: string
  headers?: Record<string, string>
  body?: string
}

export interface OpenAnswer {
  /** 0 when there was no answer (a socket error or the timeout: see `error`). */
  status: number
  body: string
  headers: IncomingHttpHeaders
  /** From the request's scheduled time. */
  latencyMs: number
  /** When it was due, in ms since the start (warm-up included). */
  scheduledAtMs: number
  error?: string
}

export interface OpenModelOptions {
  label: string
  /** Base URL (or the full URL of a single-route run), always 127.0.0.1. */
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
  /** The i-th request (default: GET of the URL's own path). */
  request?: (i: number) => OpenRequest
  /** Every measured request's outcome, as it settles. */
  onAnswer?: (i: number, answer: OpenAnswer) => void
  /** Once a second while it runs. */
  onTick?: (tick: LoadTick) => void
  /** Stops scheduling when it resolves; what is in flight still settles. */
  stopWhen?: Promise<unknown>
  /** Keep-alive sockets at most (default 64); requests beyond wait their turn, and that wait counts. */
  sockets?: number
  /** Per-request timeout (default 10 s). */
  timeoutMs?: number
  /** Count answers per `x-instance`. */
  countInstances?: boolean
  /** Record a per-second timeline (responses, errors, latency). */
  timeline?: boolean
  /** Connect from this local address (127.0.0.3: a client of its own, as the balancer and the rate limit see it). */
  localAddress?: string
}

const DEFAULT_SOCKETS = 64
const DEFAULT_TIMEOUT_MS = 10_000

/** Sends `rate × durationSeconds` requests on schedule (after the warm-up's) and summarises them (engine 'open-model'). */
export function runOpenModel (options: OpenModelOptions): Promise<LoadSummary> {
  const target = localTarget(options.url)
  if (!(options.rate > 0) || !(options.durationSeconds > 0)) throw new Error('rate and duration must be positive')
  const base = `${target.protocol}//${target.host}`
  const next = options.request ?? ((): OpenRequest => ({ method: 'GET', path: `${target.pathname}${target.search}` }))
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const sockets = options.sockets ?? DEFAULT_SOCKETS

  const skipped = Math.round(options.rate * (options.warmupSeconds ?? 0))
  let total = skipped + Math.max(1, Math.round(options.rate * options.durationSeconds))
  const intervalMs = 1000 / options.rate
  const agent = new Agent({ keepAlive: true, maxSockets: sockets, ...(options.localAddress ? { localAddress: options.localAddress } : {}) })
  const latencies: number[] = []
  const errorsByKind: Record<string, number> = {}
  const instances: Record<string, number> = {}
  const timeline: TimelinePoint[] = []
  let second = { responses: 0, errors: 0, latencies: [] as number[] }
  let settled = 0
  let settledMeasured = 0
  let sent = 0
  let lastAnswer = 0

  return new Promise((resolve) => {
    const start = performance.now()
    const measuredStart = start + skipped * intervalMs
    let pumpTimer: NodeJS.Timeout | undefined
    let finished = false

    const closeSecond = () => {
      const sorted = second.latencies.sort((a, b) => a - b)
      const point: TimelinePoint = { t: timeline.length, responses: second.responses, errors: second.errors }
      if (sorted.length > 0) point.latencyMs = { p50: round(percentile(sorted, 50), 2), p99: round(percentile(sorted, 99), 2), max: round(sorted[sorted.length - 1]!, 2) }
      timeline.push(point)
      options.onTick?.({ elapsedSeconds: timeline.length, responses: point.responses, errors: point.errors })
      second = { responses: 0, errors: 0, latencies: [] }
    }
    // Seconds count from the measured start, like the drills' events.
    let ticker: NodeJS.Timeout | undefined
    const startTicker = setTimeout(() => { ticker = setInterval(closeSecond, 1000) }, Math.max(0, measuredStart - start))

    const finish = () => {
      if (finished) return
      finished = true
      clearTimeout(pumpTimer)
      clearTimeout(hardStop)
      clearTimeout(startTicker)
      clearInterval(ticker)
      agent.destroy()
      const unanswered = total - skipped - settledMeasured
      if (unanswered > 0) errorsByKind['not-sent-or-unanswered'] = unanswered
      if (second.responses > 0 || second.errors > 0) closeSecond()
      const sorted = latencies.sort((a, b) => a - b)
      const elapsed = Math.max(0, (lastAnswer || performance.now()) - measuredStart) / 1000
      const r3 = (v: number) => round(v, 3)
      resolve({
        label: options.label,
        engine: 'open-model',
        target: options.url,
        connections: sockets,
        durationSeconds: round(elapsed, 2),
        requests: latencies.length,
        rps: elapsed > 0 ? round(latencies.length / elapsed, 1) : 0,
        latencyMs: {
          p50: r3(percentile(sorted, 50)),
          p90: r3(percentile(sorted, 90)),
          p99: r3(percentile(sorted, 99)),
          max: r3(sorted.length > 0 ? sorted[sorted.length - 1]! : 0),
          mean: r3(sorted.length > 0 ? sorted.reduce((a, b) => a + b, 0) / sorted.length : 0)
        },
        errors: { total: Object.values(errorsByKind).reduce((a, b) => a + b, 0), byKind: errorsByKind },
        ...(options.countInstances ? { instances } : {}),
        ...(options.timeline ? { timeline } : {}),
        targetRps: options.rate
      })
    }
    // Bounded in time as well as in requests: the schedule, plus one timeout, plus a second.
    const hardStop = setTimeout(finish, total * intervalMs + timeoutMs + 1000)

    const settle = (i: number, answer: OpenAnswer) => {
      if (i >= skipped) {
        const kind = answer.error ?? (answer.status >= 200 && answer.status <= 299 ? null : `non2xx:${answer.status}`)
        if (kind !== null) {
          errorsByKind[kind] = (errorsByKind[kind] ?? 0) + 1
          second.errors++
        }
        if (answer.status > 0) {
          lastAnswer = performance.now()
          latencies.push(answer.latencyMs)
          second.responses++
          second.latencies.push(answer.latencyMs)
          if (options.countInstances) {
            const name = typeof answer.headers['x-instance'] === 'string' ? answer.headers['x-instance'] : 'none'
            instances[name] = (instances[name] ?? 0) + 1
          }
        }
        options.onAnswer?.(i, answer)
        settledMeasured++
      }
      settled++
      if (settled === total) finish()
    }

    const send = (i: number) => {
      const scheduledAtMs = i * intervalMs
      const spec = next(i)
      let done = false
      const once = (answer: Omit<OpenAnswer, 'scheduledAtMs' | 'latencyMs'>) => {
        if (done) return
        done = true
        settle(i, { ...answer, scheduledAtMs, latencyMs: performance.now() - start - scheduledAtMs })
      }
      const req = httpRequest(`${base}${spec.path}`, { agent, method: spec.method, headers: spec.headers, timeout: timeoutMs }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.once('end', () => once({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), headers: res.headers }))
        res.once('error', (err: NodeJS.ErrnoException) => once({ status: 0, body: '', headers: {}, error: `socket:${err.code ?? err.message}` }))
      })
      req.once('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })))
      req.once('error', (err: NodeJS.ErrnoException) => {
        once({ status: 0, body: '', headers: {}, error: err.code === 'TIMEOUT' ? 'timeout' : `socket:${err.code ?? err.message}` })
      })
      req.end(spec.body)
    }

    // Stopped early: nothing more is scheduled; the run ends once what was sent settles.
    options.stopWhen?.then(() => {
      total = Math.max(sent, skipped + 1)
      clearTimeout(pumpTimer)
      if (settled >= total) finish()
    }, () => {})

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
