/**
 * The abuse drill's attacker: requests and half-sent headers from addresses of its
 * own (127.0.0.2 and beyond: Linux accepts any 127.x.y.z as a source on the
 * loopback), so that nginx's per-address limits tell it apart from the normal
 * clients on 127.0.0.1. Bounded in time and in sockets, and only ever aimed at 127.0.0.1.
 */
import { connect, type Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { localTarget } from '../load/local-target.js'
import { wireConnection } from './abuse-wire.js'
import type { OpenRequest } from '../load/open-model.js'
import { manySmallObjectsBody } from './abuse-phases.js'

export interface FloodOptions {
  /** The balancer's base URL (127.0.0.1). */
  url: string
  /** Requests in flight at most: each of these workers waits for its answer before the next. */
  concurrency: number
  /** Requests per second over all workers, on an even schedule; undefined: as fast as answers come. */
  rate?: number
  durationMs: number
  /** The source address of worker `w`'s connections. */
  from: (worker: number) => string
  request: (i: number) => OpenRequest
  /** Each answer (status 0: none came), as it comes. */
  onAnswer?: (i: number, status: number) => void
  timeoutMs?: number
}

/** What the flood sent and what came back. */
export interface FloodStats {
  sent: number
  durationMs: number
  /** Answers by status ("0": no answer: a reset, a timeout). */
  byStatus: Record<string, number>
  /** Latency from each request's write on its connection to the data that completed its answer (ms), by status. */
  latenciesMs: Record<string, number[]>
}

const FLOOD_TIMEOUT_MS = 10_000
const CUT_AFTER_MS = 1000

/** Sends requests from the attacker's addresses for `durationMs`, at `rate` or as fast as answers come. */
export async function flood (options: FloodOptions): Promise<FloodStats> {
  const target = localTarget(options.url)
  const port = Number(target.port || 80)
  const stats: FloodStats = { sent: 0, durationMs: 0, byStatus: {}, latenciesMs: {} }
  const start = performance.now()
  const endAt = start + options.durationMs
  let slot = 0

  // One keep-alive connection per worker, from its address: timed from each write to its answer (abuse-wire.ts).
  const worker = async (w: number) => {
    const connection = wireConnection(target.hostname, port, options.from(w))
    try {
      for (;;) {
        if (options.rate !== undefined) {
          const dueAt = start + (slot * 1000) / options.rate
          if (dueAt >= endAt || performance.now() >= endAt) return
          slot++
          const wait = dueAt - performance.now()
          if (wait > 1) await sleep(wait)
        } else if (performance.now() >= endAt) return
        const i = stats.sent++
        // Bounded by the attack's end too: what is still unanswered a second after it is cut (no answer).
        const timeout = Math.min(options.timeoutMs ?? FLOOD_TIMEOUT_MS, Math.max(1, endAt + CUT_AFTER_MS - performance.now()))
        const { status, latencyMs } = await connection.send(options.request(i), timeout)
        const key = String(status)
        stats.byStatus[key] = (stats.byStatus[key] ?? 0) + 1;
        (stats.latenciesMs[key] ??= []).push(latencyMs)
        options.onAnswer?.(i, status)
      }
    } finally {
      connection.close()
    }
  }
  await Promise.all(Array.from({ length: options.concurrency }, (_, w) => worker(w)))
  stats.durationMs = performance.now() - start
  return stats
}

export interface HalfOpenOptions {
  url: string
  from: string
  /** Sockets held at once. */
  sockets: number
  durationMs: number
}

export interface HalfOpenStats {
  /** Connections opened in all (renewals included). */
  opened: number
  /** Most held at once. */
  peakHeld: number
  /** Closed by the server before the end, and how long each had been held (ms). */
  closedByServerAfterMs: number[]
  /** Connects that failed (refused, no address, no file descriptor). */
  connectErrors: number
}

/** Opened this many at a time, so the flood itself does not stall the machine's accept queues. */
const OPEN_BATCH = 500
const OPEN_BATCH_EVERY_MS = 10
/** Half a request: its line and a header left unfinished, never ended. */
const HALF_HEADER = 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Half: '

/**
 * Holds `sockets` connections that each sent half a request header, renewing any
 * the server closes, for `durationMs`; then closes them all.
 */
export async function halfOpenFlood (options: HalfOpenOptions): Promise<HalfOpenStats> {
  const target = localTarget(options.url)
  const port = Number(target.port || 80)
  const stats: HalfOpenStats = { opened: 0, peakHeld: 0, closedByServerAfterMs: [], connectErrors: 0 }
  const held = new Set<Socket>()
  const endAt = performance.now() + options.durationMs
  let ending = false

  const open = () => {
    const socket = connect({ host: target.hostname, port, localAddress: options.from })
    let connectedAt: number | null = null
    stats.opened++
    socket.once('connect', () => {
      connectedAt = performance.now()
      held.add(socket)
      stats.peakHeld = Math.max(stats.peakHeld, held.size)
      socket.write(HALF_HEADER)
    })
    socket.on('data', () => {})
    socket.once('error', () => { if (connectedAt === null) stats.connectErrors++ })
    socket.once('close', () => {
      held.delete(socket)
      if (ending) return
      if (connectedAt !== null) stats.closedByServerAfterMs.push(performance.now() - connectedAt)
      // The attacker renews what the server dropped, as long as the phase lasts.
      if (performance.now() < endAt) setTimeout(open, connectedAt === null ? 100 : 0)
    })
  }

  for (let n = 0; n < options.sockets && performance.now() < endAt; n += OPEN_BATCH) {
    for (let i = n; i < Math.min(options.sockets, n + OPEN_BATCH); i++) open()
    await sleep(OPEN_BATCH_EVERY_MS)
  }
  await sleep(Math.max(0, endAt - performance.now()))
  ending = true
  for (const socket of held) socket.destroy()
  held.clear()
  return stats
}

/** The source address of the `n`-th of many attacker addresses: 127.0.1.1, 127.0.1.2, ... (250 per /24). */
export function manyAddresses (n: number): string {
  return `127.0.${1 + Math.floor(n / 250)}.${1 + (n % 250)}`
}

/** The bodies an attack sends, by name (the attacker's process gets names, not 64 KiB strings). */
export const ATTACK_BODIES = {
  /** POST /kv of a 64 KiB value: the service's body limit, envelope included. */
  value64k: `{"value":"${'x'.repeat(64 * 1024 - '{"value":""}'.length)}"}`,
  /** 64 KiB of empty objects: the most JSON values per byte. */
  smallObjects64k: manySmallObjectsBody(64 * 1024)
}

/** An attack as data, for the attacker's process that runs it (abuse-worker.ts). */
export type AttackSpec =
  | ({ kind: 'half-open' } & HalfOpenOptions)
  | {
    kind: 'flood'
    url: string
    concurrency: number
    rate?: number
    durationMs: number
    /** One source address, or `many`: worker w from manyAddresses(w). */
    from: string
    method: 'GET' | 'POST'
    /** `{i}` is replaced by the request's number. */
    path: string
    body?: keyof typeof ATTACK_BODIES
  }

export type AttackOutcome =
  | { kind: 'half-open', stats: HalfOpenStats }
  | { kind: 'flood', stats: FloodStats, acknowledged: number[] }

/** Runs one attack described as data (in the attacker's process, or in-process). */
export async function runAttack (spec: AttackSpec): Promise<AttackOutcome> {
  if (spec.kind === 'half-open') return { kind: 'half-open', stats: await halfOpenFlood(spec) }
  const acknowledged: number[] = []
  const body = spec.body === undefined ? undefined : ATTACK_BODIES[spec.body]
  const stats = await flood({
    url: spec.url,
    concurrency: spec.concurrency,
    ...(spec.rate !== undefined ? { rate: spec.rate } : {}),
    durationMs: spec.durationMs,
    from: spec.from === 'many' ? manyAddresses : () => spec.from,
    request: (i) => ({ method: spec.method, path: spec.path.replace('{i}', String(i)), ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body }) }),
    onAnswer: (i, status) => { if (status >= 200 && status < 300) acknowledged.push(i) }
  })
  return { kind: 'flood', stats, acknowledged }
}
