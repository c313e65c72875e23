import type { KvEntry } from '../schemas/kv.js'

/**
 * The shared state behind the API. Two implementations: RedisStore (one store
 * every instance sees) and MemoryStore (a Map per process: right for one instance,
 * deliberately wrong behind a balancer — the lab shows it).
 */

/** How long the record of a mutation with a client's Idempotency-Key (its first answer) is kept. */
export const IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60

/**
 * How long the record of a mutation keyed by the X-Request-Id nginx sets is kept.
 * That id is new for every client request and only repeats when nginx retries
 * it (within proxy_next_upstream_timeout, 10 s): keeping each for 24 h would grow
 * Redis by every POST of the day. Ten minutes covers the retries many times over.
 */
export const REQUEST_ID_TTL_SECONDS = 10 * 60

export type { KvEntry }

/** The result of a mutation, and whether it was a replay of an earlier one with the same key. */
export interface Applied<T> {
  result: T
  replayed: boolean
}

/** The idempotency key of a mutation, the fingerprint of the request it belongs to, and how long its record lives. */
export interface Idempotency {
  /** Namespaced by source ("k:" a client's key, "r:" nginx's request id), so the two never collide. */
  key: string
  fingerprint: string
  ttlSeconds: number
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
 * An idempotency record is "<fingerprint>|<answer>" (the Lua scripts write it). A
 * replay whose request has a different fingerprint reuses a key for something
 * else, which is refused.
 */
export function decodeRecord (record: string): { fingerprint: string, answer: number } {
  const at = record.lastIndexOf('|')
  return { fingerprint: record.slice(0, at), answer: Number(record.slice(at + 1)) }
}

/** The largest magnitude a counter may reach: beyond it JSON clients lose precision. */
export const COUNTER_LIMIT = Number.MAX_SAFE_INTEGER
