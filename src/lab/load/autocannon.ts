import autocannon from 'autocannon'
import type { LoadSummary, TimelinePoint } from '../results.js'
import { percentile, round } from '../stats.js'
import { localTarget } from './local-target.js'

/** What one second of a running load looked like, for progress lines. */
export interface LoadTick {
  elapsedSeconds: number
  responses: number
  errors: number
}

export interface AutocannonLoadOptions {
  label: string
  /** Base URL, always 127.0.0.1 (e.g. http://127.0.0.1:8080). */
  url: string
  connections: number
  /**
   * Either a total number of requests (`amount`: every request is answered or
   * errors before the run ends, so none is abandoned in flight), or a duration.
   */
  amount?: number
  durationSeconds?: number
  /**
   * Requests per second over all connections. Note autocannon's rate is a quota per
   * connection per second, sent as fast as answers come at each second's start.
   */
  overallRate?: number
  /** Stops the run early when it resolves. */
  stopWhen?: Promise<unknown>
  /** The requests to cycle through (autocannon's request objects: method, path, setupRequest, onResponse). */
  requests: autocannon.Request[]
  /** Count responses per `x-instance` header (costs the load generator a little per response). */
  countInstances?: boolean
  /** Called once a second while the load runs. */
  onTick?: (tick: LoadTick) => void
}

export interface AutocannonLoad {
  summary: LoadSummary
}

/** A hard stop for an `amount` run that takes too long: load is bounded in time too. */
const MAX_SECONDS = 120
/** Per-request timeout. */
const TIMEOUT_SECONDS = 10

/**
 * Runs autocannon in this process and summarises it in the lab's terms:
 * latency percentiles, errors by kind (`non2xx:503`, `socket:ECONNRESET`,
 * `timeout`), a per-second timeline and, if asked, responses per instance.
 * Load only ever goes to 127.0.0.1 and is bounded in requests or time.
 */
export async function runAutocannon (options: AutocannonLoadOptions): Promise<AutocannonLoad> {
  localTarget(options.url)
  if (options.amount === undefined && options.durationSeconds === undefined) throw new Error('give an amount or a duration')

  const instances: Record<string, number> = {}
  const errorsByKind: Record<string, number> = {}
  const timeline: TimelinePoint[] = []
  let second = { responses: 0, errors: 0 }
  let latencies: number[] = []
  /** The second just ended, with its latency percentiles when it had answers. */
  const closeSecond = (): TimelinePoint => {
    const sorted = latencies.sort((a, b) => a - b)
    const point: TimelinePoint = { t: timeline.length, ...second }
    if (sorted.length > 0) point.latencyMs = { p50: round(percentile(sorted, 50), 2), p99: round(percentile(sorted, 99), 2), max: round(sorted[sorted.length - 1]!, 2) }
    second = { responses: 0, errors: 0 }
    latencies = []
    return point
  }
  const bump = (kind: string) => { errorsByKind[kind] = (errorsByKind[kind] ?? 0) + 1; second.errors++ }

  let finish!: (err: unknown, result: autocannon.Result) => void
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    finish = (err, result) => (err ? reject(err) : resolve(result))
  })
  const instance = autocannon({
    url: options.url,
    connections: options.connections,
    ...(options.amount !== undefined ? { amount: options.amount } : { duration: options.durationSeconds }),
    timeout: TIMEOUT_SECONDS,
    ...(options.overallRate !== undefined ? { overallRate: options.overallRate } : {}),
    requests: options.requests,
    ...(options.countInstances ? { setupClient: (client: autocannon.Client) => countInstances(client, instances) } : {})
  }, (err, result) => finish(err, result))
  instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
    second.responses++
    latencies.push(responseTime)
    if (statusCode < 200 || statusCode > 299) bump(`non2xx:${statusCode}`)
  })
  instance.on('reqError', (err: NodeJS.ErrnoException) => {
    bump(err.message === 'request timed out' ? 'timeout' : `socket:${err.code ?? err.message}`)
  })
  const started = performance.now()
  const ticker = setInterval(() => {
    const point = closeSecond()
    timeline.push(point)
    options.onTick?.({ elapsedSeconds: timeline.length, responses: point.responses, errors: point.errors })
  }, 1000)
  const stopper = options.amount !== undefined
    ? setTimeout(() => instance.stop(), MAX_SECONDS * 1000)
    : undefined
  options.stopWhen?.then(() => instance.stop(), () => instance.stop())

  const raw = await done.finally(() => {
    clearInterval(ticker)
    clearTimeout(stopper)
  })
  // The last, partial second.
  if (second.responses > 0 || second.errors > 0) timeline.push(closeSecond())

  const elapsed = (performance.now() - started) / 1000
  const errors = Object.values(errorsByKind).reduce((a, b) => a + b, 0)
  const summary: LoadSummary = {
    label: options.label,
    engine: 'autocannon',
    target: options.url,
    connections: options.connections,
    durationSeconds: round(elapsed, 2),
    requests: raw.requests.total,
    rps: round(raw.requests.total / elapsed, 1),
    latencyMs: {
      p50: raw.latency.p50,
      p90: raw.latency.p90,
      p99: raw.latency.p99,
      max: raw.latency.max,
      mean: round(raw.latency.mean, 2)
    },
    errors: { total: errors, byKind: errorsByKind },
    timeline,
    ...(options.countInstances ? { instances } : {})
  }
  return { summary }
}

/**
 * Counts the `x-instance` of every answer a client gets, from the raw header list
 * of its 'headers' event: an onResponse hook would do the same at a third of the
 * load generator's throughput (it parses every header and keeps every body).
 */
function countInstances (client: autocannon.Client, counts: Record<string, number>): void {
  // @types/autocannon says IncomingHttpHeaders; the event really carries http-parser-js's
  // info object, whose `headers` is the flat [name, value, name, value...] list.
  const emitter = client as unknown as NodeJS.EventEmitter
  emitter.on('headers', ({ headers }: { headers: string[] }) => {
    let name = 'none'
    for (let i = 0; i < headers.length; i += 2) {
      if (headers[i]!.length === 10 && headers[i]!.toLowerCase() === 'x-instance') { name = headers[i + 1]!; break }
    }
    counts[name] = (counts[name] ?? 0) + 1
  })
}

/**
 * autocannon ignores `Connection: close`: after such an answer (nginx sends one
 * every keepalive_requests, 1000 by default, on each client connection) it writes
 * the next request onto the closing socket, where it vanishes without an answer
 * or an error. Real clients open a new connection instead. A load that audits its
 * writes must not lose one that way: it asks the guard, while setting up each
 * request, whether this one is going to that socket, and sends a harmless GET
 * instead. Everything happens in one synchronous call chain (answer parsed →
 * onResponse → next request set up), so one flag is enough.
 */
export class ClosingConnectionGuard {
  #closing = false
  /** Requests replaced because they would have gone to a closing connection. */
  replaced = 0

  /** Call from onResponse with the answer's headers (autocannon keeps their names' case: nginx says "Connection"). */
  saw (headers: Record<string, unknown> | undefined): void {
    const value = headers?.Connection ?? headers?.connection
    if (typeof value === 'string' && value.toLowerCase() === 'close') this.#closing = true
  }

  /** True, once, when the request being set up follows a `Connection: close` answer. */
  replaceNext (): boolean {
    if (!this.#closing) return false
    this.#closing = false
    this.replaced++
    return true
  }
}
