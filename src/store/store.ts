import type { KvEntry } from '../schemas/kv.js'

/**
 * The shared state behind the API. Two implementations: RedisStore (one store
 * every instance sees) and MemoryStore (a Map per process: right for one instance,
 * deliberately wrong behind a balancer — the lab shows it).
 */

/** How long a mutation's idempotency record (its first answer) is kept. */
export const IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60

export type { KvEntry }

/** The result of a mutation, and whether it was a replay of an earlier one with the same key. */
export interface Applied<T> {
  result: T
  replayed: boolean
}

/** The idempotency key of a mutation and the fingerprint of the request it belongs to. */
export interface Idempotency {
  key: string
  fingerprint: string
}

export interface Store {
  readonly kind: 'redis' | 'memory'
  getKv (key: string): Promise<KvEntry | null>
  /** Writes `valueJson` (the value, already JSON-encoded) and bumps the key's version by one. */
  setKv (key: string, valueJson: string, idempotency?: Idempotency): Promise<Applied<number>>
  getCounter (name: string): Promise<number>
  incrCounter (name: string, by: number, idempotency?: Idempotency): Promise<Applied<number>>
  /** Resolves when the store answers; rejects with StoreUnavailableError otherwise. */
  ping (): Promise<void>
}

/**
 * An idempotency record is "<fingerprint>|<answer>". A replay whose request has a
 * different fingerprint reuses a key for something else, which is refused.
 */
export function encodeRecord (fingerprint: string, answer: number): string {
  return `${fingerprint}|${answer}`
}

export function decodeRecord (record: string): { fingerprint: string, answer: number } {
  const at = record.lastIndexOf('|')
  return { fingerprint: record.slice(0, at), answer: Number(record.slice(at + 1)) }
}

/** The largest magnitude a counter may reach: beyond it JSON clients lose precision. */
export const COUNTER_LIMIT = Number.MAX_SAFE_INTEGER
