import type autocannon from 'autocannon'
import { Ledger } from '../audit/ledger.js'
import { answerOf, outcomeOfAnswer } from '../audit/outcome.js'
import { ClosingConnectionGuard, runAutocannon, type LoadTick } from '../load/autocannon.js'
import type { LoadSummary } from '../results.js'

/** Relative weights of the four requests of the steady mix. */
export interface Mix {
  root: number
  kvGet: number
  kvSet: number
  incr: number
}

export type Operation = keyof Mix

const MIX_NAMES: Record<string, Operation> = { root: 'root', 'kv-get': 'kvGet', 'kv-set': 'kvSet', incr: 'incr' }

/** "root:25,kv-get:25,kv-set:25,incr:25" (the k6 scripts' format) → weights. */
export function parseMix (text: string): Mix {
  const mix: Mix = { root: 0, kvGet: 0, kvSet: 0, incr: 0 }
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const [name = '', weight = ''] = part.split(':')
    const operation = MIX_NAMES[name]
    if (operation === undefined || !/^\d+$/.test(weight)) {
      throw new Error(`--mix: "${part}" is not <root|kv-get|kv-set|incr>:<whole number>`)
    }
    mix[operation] = Number(weight)
  }
  if (mix.root + mix.kvGet + mix.kvSet + mix.incr === 0) throw new Error('--mix: all weights are zero')
  return mix
}

/** One answer the traffic received, for drills that watch for an event (a restarted worker answering...). */
export interface Observation {
  /** Milliseconds since the load started. */
  atMs: number
  operation: Operation
  status: number
  instance: string | undefined
  latencyMs: number
}

export interface TrafficOptions {
  label: string
  /** Base URL of the balancer (127.0.0.1). */
  url: string
  connections: number
  /** Requests per second over all connections (default: as fast as answers come). */
  rate?: number
  /** Mutations are sent during this long (at most, with `until`)... */
  durationSeconds: number
  /** ...or until this resolves, if sooner; then only GET / for DRAIN_MS. */
  until?: Promise<unknown>
  mix: Mix
  /** Names the keys, counters and Idempotency-Keys of this run. */
  runId: string
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

interface Context {
  operation?: Operation
  idempotencyKey?: string
  sentAt?: number
}

const ROUTES: Record<Operation, (t: { key: string, counter: string }) => { method: 'GET' | 'POST', path: string }> = {
  root: () => ({ method: 'GET', path: '/' }),
  kvGet: ({ key }) => ({ method: 'GET', path: `/kv/${key}` }),
  kvSet: ({ key }) => ({ method: 'POST', path: `/kv/${key}` }),
  incr: ({ counter }) => ({ method: 'POST', path: `/counters/${counter}/incr` })
}

/**
 * The steady mixed load of the drills: GET /, GET /kv, POST /kv and POST
 * /counters/incr through nginx, each mutation with an Idempotency-Key of its own
 * recorded in a ledger with its outcome, for the write audit afterwards.
 */
/** The kv keys of a run (written once before the load, so reads never 404). */
const KV_KEYS = 50
/** Once mutations stop, only GET / this long, so no mutation is left in flight when the load stops. */
const DRAIN_MS = 1000

export async function runTraffic (options: TrafficOptions): Promise<Traffic> {
  const ledger = new Ledger()
  const counterName = `drill:${options.runId}:counter`
  const kvKeyNames = Array.from({ length: KV_KEYS }, (_, i) => `drill:${options.runId}:k${i}`)
  await seedKeys(options.url, kvKeyNames)

  const weights = Object.entries(options.mix) as Array<[Operation, number]>
  const total = weights.reduce((sum, [, w]) => sum + w, 0)
  const pick = (): Operation => {
    let roll = Math.random() * total
    for (const [operation, weight] of weights) if ((roll -= weight) < 0) return operation
    return 'root'
  }

  const failureLatenciesMs: number[] = []
  const errorsByOperation = { reads: 0, writes: 0 }
  const guard = new ClosingConnectionGuard()
  let started = performance.now()
  let mutationsUntil = options.durationSeconds * 1000
  // Ended early: stop mutating now, let what is in flight land, then stop.
  const stopWhen = options.until?.then(async () => {
    mutationsUntil = Math.min(mutationsUntil, performance.now() - started)
    await new Promise((resolve) => setTimeout(resolve, DRAIN_MS))
  })
  let sequence = 0

  const request: autocannon.Request = {
    setupRequest: (req, rawContext) => {
      const context = rawContext as Context
      const now = performance.now() - started
      const operation = now < mutationsUntil && !guard.replaceNext() ? pick() : 'root'
      const key = kvKeyNames[Math.floor(Math.random() * kvKeyNames.length)]!
      const { method, path } = ROUTES[operation]({ key, counter: counterName })
      context.operation = operation
      context.sentAt = now
      context.idempotencyKey = undefined
      if (method === 'GET') return { ...req, method, path, headers: {}, body: undefined }
      const idempotencyKey = `${options.runId}-${++sequence}`
      context.idempotencyKey = idempotencyKey
      const valueJson = JSON.stringify({ n: sequence, at: Math.round(now) })
      ledger.add(operation === 'incr'
        ? { idempotencyKey, kind: 'incr', target: counterName, by: 1 }
        : { idempotencyKey, kind: 'kv', target: key, valueJson })
      return {
        ...req,
        method,
        path,
        headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
        body: operation === 'incr' ? '{"by":1}' : `{"value":${valueJson}}`
      }
    },
    onResponse: (status, body, rawContext, headers) => {
      guard.saw(headers)
      const context = rawContext as Context
      const atMs = performance.now() - started
      const latencyMs = atMs - (context.sentAt ?? atMs)
      const ok = status >= 200 && status < 300
      if (!ok) {
        failureLatenciesMs.push(latencyMs)
        if (context.idempotencyKey) errorsByOperation.writes++
        else errorsByOperation.reads++
      }
      if (context.idempotencyKey) {
        const answer = ok ? answerOf(body) : undefined
        ledger.settle(context.idempotencyKey, outcomeOfAnswer(status), status, answer)
      }
      const instance = headers?.['x-instance']
      options.onAnswer?.({ atMs, operation: context.operation ?? 'root', status, instance: typeof instance === 'string' ? instance : undefined, latencyMs })
    }
  }

  started = performance.now()
  options.onStart?.(started)
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
  // Requests that never got an answer (reset, timeout): reads among them are the
  // socket errors that no mutation accounts for.
  const unanswered = [...ledger.mutations.values()].filter((m) => m.outcome === undefined).length
  errorsByOperation.writes += unanswered
  const socketErrors = Object.entries(summary.errors.byKind).filter(([kind]) => !kind.startsWith('non2xx')).reduce((a, [, n]) => a + n, 0)
  errorsByOperation.reads += Math.max(0, socketErrors - unanswered)
  return { summary, ledger, failureLatenciesMs, errorsByOperation, kvBaseVersion: 1 }
}

/** Writes every key of the pool once, so the reads of the load find them. */
async function seedKeys (url: string, keys: string[]): Promise<void> {
  await Promise.all(keys.map(async (key) => {
    const res = await fetch(`${url}/kv/${key}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ value: 'seed' })
    })
    await res.arrayBuffer()
    if (!res.ok) throw new Error(`could not seed ${key}: ${res.status}`)
  }))
}
