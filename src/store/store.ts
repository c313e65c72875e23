/**
 * The shared state behind the API. Two implementations: RedisStore (one store
 * every instance sees) and MemoryStore (a Map per process: right for one instance,
 * deliberately wrong behind a balancer — the lab shows it).
 */

/**
 * A key's value as stored: the JSON text the write was given (JSON.stringify's
 * output, so already canonical), and its version. Reads hand the text on as is:
 * GET /kv sends it without a parse and a re-serialise.
 */
export interface StoredKv {
  valueJson: string
  version: number
}

/** The result of a mutation, and whether it was a replay of an earlier one with the same key. */
export interface Applied<T> {
  result: T
  replayed: boolean
}

/** The idempotency key of a mutation, the fingerprint of the request it belongs to, and how long its record lives. */
export interface Idempotency {
  /** Namespaced by source ("k:<client address>/" a client's key, "r:" nginx's request id), so none collide. Never shown to clients. */
  key: string
  fingerprint: string
  ttlSeconds: number
}

export interface Store {
  readonly kind: 'redis' | 'memory'
  getKv (key: string): Promise<StoredKv | null>
  /** Writes `valueJson` (the value, already JSON-encoded) and bumps the key's version by one. */
  setKv (key: string, valueJson: string, idempotency?: Idempotency): Promise<Applied<number>>
  getCounter (name: string): Promise<number>
  incrCounter (name: string, by: number, idempotency?: Idempotency): Promise<Applied<number>>
  /** Resolves when the store answers; rejects with StoreUnavailableError otherwise. */
  ping (): Promise<void>
}

/** The largest magnitude a counter may reach: beyond it JSON clients lose precision. */
export const COUNTER_LIMIT = Number.MAX_SAFE_INTEGER
