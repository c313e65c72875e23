import { REPLAY_HEADER } from '../../shared/contract.js'
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

async function getJson (url: string): Promise<{ status: number, body: Record<string, unknown> | null }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) })
  const text = await res.text()
  try {
    return { status: res.status, body: JSON.parse(text) as Record<string, unknown> }
  } catch {
    return { status: res.status, body: null }
  }
}

export async function readCounter (base: string, name: string): Promise<number> {
  const res = await fetch(`${base}/counters/${name}`, { signal: AbortSignal.timeout(5000) })
  return counterValue(name, res.status, await res.text())
}

/** A counter's value from GET /counters/<name>'s answer (read through nginx, or asked of one instance). */
export function counterValue (name: string, status: number, text: string): number {
  let value: unknown
  try {
    value = (JSON.parse(text) as { value?: unknown }).value
  } catch {}
  if (status !== 200 || typeof value !== 'number') throw new Error(`reading counter ${name}: HTTP ${status}`)
  return value
}

/** Each named counter's value, read one after another through `base`. */
async function readCounters (base: string, names: Iterable<string>): Promise<Map<string, number>> {
  const counters = new Map<string, number>()
  for (const name of names) counters.set(name, await readCounter(base, name))
  return counters
}

/** Reads every counter and kv key the ledger touched, through `base` (the balancer). */
export async function readBack (base: string, ledger: Ledger): Promise<StoreReadback> {
  const counters = await readCounters(base, ledger.byTarget('incr').keys())
  const kv: StoreReadback['kv'] = new Map()
  await inPool([...ledger.byTarget('kv').keys()], 16, async (key) => {
    const { status, body } = await getJson(`${base}/kv/${key}`)
    if (status === 404) kv.set(key, null)
    else if (status === 200 && body && typeof body.version === 'number') kv.set(key, { version: body.version, valueJson: JSON.stringify(body.value) })
    else throw new Error(`reading ${key}: HTTP ${status}`)
  })
  return { counters, kv }
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
  return inPool(sample, 8, async (mutation: Mutation): Promise<Replay> => {
    const path = mutation.kind === 'incr' ? `/counters/${mutation.target}/incr` : `/kv/${mutation.target}`
    const body = mutation.kind === 'incr' ? JSON.stringify({ by: mutation.by ?? 1 }) : `{"value":${mutation.valueJson}}`
    const res = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': mutation.idempotencyKey },
      body,
      signal: AbortSignal.timeout(5000)
    })
    const answer = answerOf(await res.text())
    return { mutation, status: res.status, replayed: res.headers.get(REPLAY_HEADER) === 'true', answer }
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
  const countersAfter = await readCounters(base, store.counters.keys())
  audit.rules.push(auditReplays(replays, store.counters, countersAfter))
  return { audit, evidence: { store, replays } }
}

/** The write audit's result alone (see auditStoreWithEvidence). */
export async function auditStore (base: string, ledger: Ledger, options: AuditOptions = {}): Promise<AuditResult> {
  return (await auditStoreWithEvidence(base, ledger, options)).audit
}
