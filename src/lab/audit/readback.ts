import { setTimeout as sleep } from 'node:timers/promises'
import { REPLAY_HEADER, STORE_UNAVAILABLE_CODE } from '../../shared/contract.js'
import type { AuditResult } from '../results.js'
import { auditLedger, auditReplays, type AuditOptions, type Replay, type StoreReadback } from './audit.js'
import { Ledger, type Mutation } from './ledger.js'
import { answerOf } from './outcome.js'

/** Runs `task` over `items`, `limit` at a time. */
export async function inPool<T, R> (items: T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length)
  let next = 0
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++
      results[i] = await task(items[i]!)
    }
  }))
  return results
}

/**
 * How long the audit waits out a store that is still coming back (an instance
 * reconnecting, Redis loading its AOF) before it reports a read as failed: one
 * deadline for the whole read-back, so a store that never returns costs this
 * once, not once per key.
 */
export const STORE_RETRY_BOUND_MS = 5000
/** Between two tries of a read the store refused. */
const STORE_RETRY_INTERVAL_MS = 100

/** An HTTP answer: its status, text, and JSON body when it has one. */
interface Answer { status: number, text: string, body: Record<string, unknown> | null }

/**
 * Whether an answer is worth another try before `deadline` (performance.now()):
 * only the service's 503 SL_STORE_UNAVAILABLE, which says the store did not
 * answer this time, and is sent again as is (a POST with its Idempotency-Key
 * applies at most once). Anything else is the answer.
 */
export function worthRetrying (answer: Pick<Answer, 'status' | 'body'>, now: number, deadline: number): boolean {
  return answer.status === 503 && answer.body?.code === STORE_UNAVAILABLE_CODE && now + STORE_RETRY_INTERVAL_MS <= deadline
}

/** Sends `request` until its answer is not worth retrying (see worthRetrying). */
async function untilStoreAnswers (request: () => Promise<Response>, deadline: number): Promise<Answer & { headers: Headers }> {
  for (;;) {
    const res = await request()
    const text = await res.text()
    let body: Record<string, unknown> | null = null
    try {
      body = JSON.parse(text) as Record<string, unknown>
    } catch {}
    const answer = { status: res.status, text, body, headers: res.headers }
    if (!worthRetrying(answer, performance.now(), deadline)) return answer
    await sleep(STORE_RETRY_INTERVAL_MS)
  }
}

/** GET `url`, waiting out a store that is coming back until `deadline`. */
function getStore (url: string, deadline = performance.now() + STORE_RETRY_BOUND_MS): Promise<Answer> {
  return untilStoreAnswers(() => fetch(url, { signal: AbortSignal.timeout(5000) }), deadline)
}

export async function readCounter (base: string, name: string, deadline?: number): Promise<number> {
  const { status, text } = await getStore(`${base}/counters/${name}`, deadline)
  return counterValue(name, status, text)
}

/** A counter's value from GET /counters/<name>'s answer (read through nginx, or asked of one instance). */
export function counterValue (name: string, status: number, text: string): number {
  let value: unknown
  try {
    value = (JSON.parse(text) as { value?: unknown }).value
  } catch {}
  if (status !== 200 || typeof value !== 'number') throw new Error(`reading counter ${name}: HTTP ${status}${codeOf(text)}`)
  return value
}

/** " SL_STORE_UNAVAILABLE": an error answer's code, for a message. */
function codeOf (text: string): string {
  try {
    const { code } = JSON.parse(text) as { code?: unknown }
    return typeof code === 'string' ? ` ${code}` : ''
  } catch {
    return ''
  }
}

/** Why a read failed: the error's message (a timeout, a refused connection). */
function failureOf (err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/** Each named counter's value, read one after another through `base`; those never read go in `unreadable`. */
async function readCounters (base: string, names: Iterable<string>, unreadable: Map<string, string>, deadline: number): Promise<Map<string, number>> {
  const counters = new Map<string, number>()
  for (const name of names) {
    try {
      counters.set(name, await readCounter(base, name, deadline))
    } catch (err) {
      unreadable.set(name, failureOf(err))
    }
  }
  return counters
}

/**
 * Reads every counter and kv key the ledger touched, through `base` (the
 * balancer), waiting out a store that is still coming back for up to
 * `boundMs`. A read that never succeeds is not an exception: it is
 * named in `unreadable`, and the audit reports it.
 */
export async function readBack (base: string, ledger: Ledger, boundMs = STORE_RETRY_BOUND_MS): Promise<StoreReadback> {
  const deadline = performance.now() + boundMs
  const unreadable = new Map<string, string>()
  const counters = await readCounters(base, ledger.byTarget('incr').keys(), unreadable, deadline)
  const kv: StoreReadback['kv'] = new Map()
  await inPool([...ledger.byTarget('kv').keys()], 16, async (key) => {
    try {
      const { status, text, body } = await getStore(`${base}/kv/${key}`, deadline)
      if (status === 404) kv.set(key, null)
      else if (status === 200 && body && typeof body.version === 'number') kv.set(key, { version: body.version, valueJson: JSON.stringify(body.value) })
      else unreadable.set(key, `reading ${key}: HTTP ${status}${codeOf(text)}`)
    } catch (err) {
      unreadable.set(key, failureOf(err))
    }
  })
  return { counters, kv, unreadable }
}

/** Which acknowledged mutations a drill wants replayed besides the even sample (those a fault put at risk). */
export type ReplayChoice = (acknowledged: readonly Mutation[]) => Mutation[]

/**
 * Sends acknowledged mutations again, with their own Idempotency-Keys: up to
 * `max` of them evenly over the run, and every one `also` picks.
 */
export async function replayAcknowledged (base: string, ledger: Ledger, max = 200, also?: ReplayChoice): Promise<Replay[]> {
  const acknowledged = [...ledger.mutations.values()].filter((m) => Ledger.outcomeOf(m) === 'acknowledged')
  // Evenly over the whole run, not its first part.
  const step = Math.max(1, Math.ceil(acknowledged.length / max))
  const sample = [...new Set([...acknowledged.filter((_, i) => i % step === 0).slice(0, max), ...also?.(acknowledged) ?? []])]
  const deadline = performance.now() + STORE_RETRY_BOUND_MS
  return inPool(sample, 8, async (mutation: Mutation): Promise<Replay> => {
    const path = mutation.kind === 'incr' ? `/counters/${mutation.target}/incr` : `/kv/${mutation.target}`
    const body = mutation.kind === 'incr' ? JSON.stringify({ by: mutation.by ?? 1 }) : `{"value":${mutation.valueJson}}`
    // (A replay the store refused is sent again with the same key: it still applies at most once.)
    const res = await untilStoreAnswers(() => fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': mutation.idempotencyKey },
      body,
      signal: AbortSignal.timeout(5000)
    }), deadline)
    return { mutation, status: res.status, replayed: res.headers.get(REPLAY_HEADER) === 'true', answer: answerOf(res.text) }
  })
}

/** What the audit found besides its rules: the store as read back (before the replays), and every replay. */
export interface AuditEvidence {
  store: StoreReadback
  replays: Replay[]
}

/**
 * The whole write audit against the live store, through the balancer: read back
 * what the ledger touched, check the bounds, then replay acknowledged mutations
 * (an even sample, and those `replay` picks) and check that nothing moved.
 */
export async function auditStoreWithEvidence (base: string, ledger: Ledger, options: AuditOptions = {}, replay?: ReplayChoice): Promise<{ audit: AuditResult, evidence: AuditEvidence }> {
  const store = await readBack(base, ledger)
  const audit = auditLedger(ledger, store, options)
  const replays = await replayAcknowledged(base, ledger, 200, replay)
  // (A counter not read again here is named by the replay rule: it cannot say the counter did not move.)
  const countersAfter = await readCounters(base, store.counters.keys(), new Map(), performance.now() + STORE_RETRY_BOUND_MS)
  audit.rules.push(auditReplays(replays, store.counters, countersAfter))
  return { audit, evidence: { store, replays } }
}

/** The write audit's result alone (see auditStoreWithEvidence). */
export async function auditStore (base: string, ledger: Ledger, options: AuditOptions = {}): Promise<AuditResult> {
  return (await auditStoreWithEvidence(base, ledger, options)).audit
}
