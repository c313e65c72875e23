import type autocannon from 'autocannon'
import { Ledger } from '../audit/ledger.js'
import { answerOf, outcomeOfAnswer } from '../audit/outcome.js'
import { inPool } from '../audit/readback.js'
import { ClosingConnectionGuard, runAutocannon, type LoadTick } from '../load/autocannon.js'
import { runOpenModel, type OpenRequest } from '../load/open-model.js'
import type { LoadSummary } from '../results.js'
import type { Mix, Operation } from './mix.js'

/** One answer the traffic received, for drills that watch for an event (a restarted worker answering...). */
export interface Observation {
  /** Milliseconds since the load started. */
  atMs: number
  operation: Operation
  /** 0 when no answer came (a socket error, a timeout). */
  status: number
  instance: string | undefined
  /** nginx's x-upstream: every address it tried, the one that answered last ("10.0.0.3:3001, 10.0.0.4:3002"). */
  upstream: string | undefined
  latencyMs: number
}

export interface TrafficOptions {
  label: string
  /** Base URL of the balancer (127.0.0.1). */
  url: string
  /**
   * closed (default): autocannon, `connections` clients each waiting for its answer, capped by `rate`.
   * open: requests sent on a schedule at `rate` whatever the answers do (latency counted from the
   * schedule), on up to `connections` sockets: what a frozen instance really costs.
   */
  model?: 'closed' | 'open'
  connections: number
  /** Requests per second over all connections (closed: default as fast as answers come; open: required). */
  rate?: number
  /** Mutations are sent during this long (at most, with `until`)... */
  durationSeconds: number
  /** ...or until this resolves, if sooner; then only GET / for DRAIN_MS. */
  until?: Promise<unknown>
  mix: Mix
  /** Names the keys, counters and Idempotency-Keys of this run. */
  runId: string
  /**
   * Targets per phase: the load writes to phase `current()`'s counter and kv keys
   * (`drill:<run>:f<phase>:...`), so that the audit can tell what each phase lost.
   * A drill moves it on before each fault (the failover drill). Absent: one set of targets.
   */
  phases?: { count: number, current: () => number }
  /** Awaited once the keys are seeded, just before the load starts (a drill waits there for Prometheus to scrape the seeded state). */
  beforeStart?: () => Promise<void>
  /** Called as the load starts, with its performance.now(): observation times count from it. */
  onStart?: (startedAt: number) => void
  onTick?: (tick: LoadTick) => void
  onAnswer?: (observation: Observation) => void
}

export interface Traffic {
  summary: LoadSummary
  ledger: Ledger
  /** Latency of every non-2xx answer (ms). */
  failureLatenciesMs: number[]
  /** Client-visible errors of reads (GETs) and of mutations (POSTs). */
  errorsByOperation: { reads: number, writes: number }
  /** The version every kv key has before the load: each was written once as a seed. */
  kvBaseVersion: number
}

/** What one request of the load is: kept with it until its answer. */
interface Sent {
  operation: Operation
  idempotencyKey?: string
  sentAt: number
}

const ROUTES: Record<Operation, (t: { key: string, counter: string }) => { method: 'GET' | 'POST', path: string }> = {
  root: () => ({ method: 'GET', path: '/' }),
  kvGet: ({ key }) => ({ method: 'GET', path: `/kv/${key}` }),
  kvSet: ({ key }) => ({ method: 'POST', path: `/kv/${key}` }),
  incr: ({ counter }) => ({ method: 'POST', path: `/counters/${counter}/incr` })
}

/** The kv keys of a run (written once before the load, so reads never 404). */
const KV_KEYS = 50
/** Once mutations stop, only GET / this long, so no mutation is left in flight when the load stops. */
const DRAIN_MS = 1000
/** Open model: client timeout per request (nginx gives up on an instance well before). */
const OPEN_TIMEOUT_MS = 10_000

/**
 * The steady mixed load of the drills: GET /, GET /kv, POST /kv and POST
 * /counters/incr through nginx, each mutation with an Idempotency-Key of its own
 * recorded in a ledger with its outcome, for the write audit afterwards.
 */
export async function runTraffic (options: TrafficOptions): Promise<Traffic> {
  const ledger = new Ledger()
  const targets = Array.from({ length: options.phases?.count ?? 1 }, (_, phase) => phaseTargets(options.runId, options.phases === undefined ? null : phase))
  await seedKeys(options.url, targets.flatMap((t) => t.kvKeys))
  await options.beforeStart?.()
  const current = () => targets[Math.min(targets.length - 1, Math.max(0, options.phases?.current() ?? 0))]!

  const weights = Object.entries(options.mix) as Array<[Operation, number]>
  const total = weights.reduce((sum, [, w]) => sum + w, 0)
  const pick = (): Operation => {
    let roll = Math.random() * total
    for (const [operation, weight] of weights) if ((roll -= weight) < 0) return operation
    return 'root'
  }

  const failureLatenciesMs: number[] = []
  const errorsByOperation = { reads: 0, writes: 0 }
  let started = performance.now()
  let mutationsUntil = options.durationSeconds * 1000
  // Ended early: stop mutating now, let what is in flight land, then stop.
  const stopWhen = options.until?.then(async () => {
    mutationsUntil = Math.min(mutationsUntil, performance.now() - started)
    await new Promise((resolve) => setTimeout(resolve, DRAIN_MS))
  })
  let sequence = 0

  /** The next request: a mutation of the mix while mutations run (unless `readOnly`), else GET /. */
  const next = (readOnly: boolean): { sent: Sent, request: OpenRequest } => {
    const now = performance.now() - started
    const operation = now < mutationsUntil && !readOnly ? pick() : 'root'
    const { counter: counterName, kvKeys } = current()
    const key = kvKeys[Math.floor(Math.random() * kvKeys.length)]!
    const { method, path } = ROUTES[operation]({ key, counter: counterName })
    if (method === 'GET') return { sent: { operation, sentAt: now }, request: { method, path, headers: {} } }
    const idempotencyKey = `${options.runId}-${++sequence}`
    const valueJson = JSON.stringify({ n: sequence, at: Math.round(now) })
    ledger.add(operation === 'incr'
      ? { idempotencyKey, kind: 'incr', target: counterName, by: 1 }
      : { idempotencyKey, kind: 'kv', target: key, valueJson })
    return {
      sent: { operation, idempotencyKey, sentAt: now },
      request: {
        method,
        path,
        headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
        body: operation === 'incr' ? '{"by":1}' : `{"value":${valueJson}}`
      }
    }
  }

  /** An answer (status 0: none came) to what was sent; latency from when it was sent unless given (the open model's, from its schedule). */
  const answered = (sent: Sent, status: number, body: string, headers: Headers, scheduledLatencyMs?: number) => {
    const atMs = performance.now() - started
    const latencyMs = scheduledLatencyMs ?? atMs - sent.sentAt
    const ok = status >= 200 && status < 300
    if (!ok && status > 0) {
      failureLatenciesMs.push(latencyMs)
      if (sent.idempotencyKey) errorsByOperation.writes++
      else errorsByOperation.reads++
    }
    // A mutation without an answer stays unsettled: indeterminate, counted with the writes' errors below.
    if (sent.idempotencyKey && status > 0) ledger.settle(sent.idempotencyKey, outcomeOfAnswer(status), status, ok ? answerOf(body) : undefined, atMs)
    options.onAnswer?.({ atMs, operation: sent.operation, status, instance: textOf(headers['x-instance']), upstream: textOf(headers['x-upstream']), latencyMs })
  }

  started = performance.now()
  options.onStart?.(started)
  const summary = options.model === 'open'
    ? await openLoad(options, next, answered, stopWhen)
    : await closedLoad(options, next, answered, stopWhen)
  // Requests that never got an answer (reset, timeout): reads among them are the
  // socket errors that no mutation accounts for.
  const unanswered = [...ledger.mutations.values()].filter((m) => m.outcome === undefined).length
  errorsByOperation.writes += unanswered
  const socketErrors = Object.entries(summary.errors.byKind).filter(([kind]) => !kind.startsWith('non2xx')).reduce((a, [, n]) => a + n, 0)
  errorsByOperation.reads += Math.max(0, socketErrors - unanswered)
  return { summary, ledger, failureLatenciesMs, errorsByOperation, kvBaseVersion: 1 }
}

type Next = (readOnly: boolean) => { sent: Sent, request: OpenRequest }
/** An answer's headers, as autocannon and node:http give them. */
type Headers = Record<string, string | string[] | undefined>
type Answered = (sent: Sent, status: number, body: string, headers: Headers, scheduledLatencyMs?: number) => void

function textOf (header: unknown): string | undefined {
  return typeof header === 'string' ? header : undefined
}

/** The closed model: autocannon's connections, each request carrying what it is in its context. */
async function closedLoad (options: TrafficOptions, next: Next, answered: Answered, stopWhen: Promise<void> | undefined): Promise<LoadSummary> {
  const guard = new ClosingConnectionGuard()
  const request: autocannon.Request = {
    setupRequest: (req, rawContext) => {
      const { sent, request } = next(guard.replaceNext())
      const context = rawContext as { sent?: Sent }
      context.sent = sent
      return { ...req, method: request.method, path: request.path, headers: request.headers ?? {}, body: request.body }
    },
    onResponse: (status, body, rawContext, headers) => {
      guard.saw(headers)
      const sent = (rawContext as { sent?: Sent }).sent
      if (sent === undefined) return
      answered(sent, status, body, headers ?? {})
    }
  }
  const { summary } = await runAutocannon({
    label: options.label,
    url: options.url,
    connections: options.connections,
    ...(options.rate !== undefined ? { overallRate: options.rate } : {}),
    durationSeconds: options.durationSeconds + DRAIN_MS / 1000,
    ...(stopWhen ? { stopWhen } : {}),
    requests: [request],
    countInstances: true,
    onTick: options.onTick
  })
  return summary
}

/** The open model: requests on schedule at `rate`, whatever the answers do. */
async function openLoad (options: TrafficOptions, next: Next, answered: Answered, stopWhen: Promise<void> | undefined): Promise<LoadSummary> {
  if (options.rate === undefined) throw new Error('the open model needs a rate')
  const sent: Sent[] = []
  return runOpenModel({
    label: options.label,
    url: options.url,
    rate: options.rate,
    durationSeconds: options.durationSeconds + DRAIN_MS / 1000,
    sockets: options.connections,
    timeoutMs: OPEN_TIMEOUT_MS,
    request: (i) => {
      const { sent: what, request } = next(false)
      sent[i] = what
      return request
    },
    onAnswer: (i, answer) => {
      const what = sent[i]
      if (what === undefined) return
      delete sent[i]
      answered(what, answer.status, answer.body, answer.headers, answer.latencyMs)
    },
    ...(stopWhen ? { stopWhen } : {}),
    onTick: options.onTick,
    countInstances: true,
    timeline: true
  })
}

/** The counter and kv keys of a run, or of one phase of it. */
export function phaseTargets (runId: string, phase: number | null): { counter: string, kvKeys: string[] } {
  const prefix = phase === null ? `drill:${runId}` : `drill:${runId}:f${phase}`
  return { counter: `${prefix}:counter`, kvKeys: Array.from({ length: KV_KEYS }, (_, i) => `${prefix}:k${i}`) }
}

/** The phase a target of a phased run belongs to (see phaseTargets), or null. */
export function phaseOf (target: string): number | null {
  const match = /:f(\d+):(?:counter|k\d+)$/.exec(target)
  return match === null ? null : Number(match[1])
}

/** Writes every key of the pool once, so the reads of the load find them. */
async function seedKeys (url: string, keys: string[]): Promise<void> {
  await inPool(keys, 32, async (key) => {
    const res = await fetch(`${url}/kv/${key}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ value: 'seed' })
    })
    await res.arrayBuffer()
    if (!res.ok) throw new Error(`could not seed ${key}: ${res.status}`)
  })
}
