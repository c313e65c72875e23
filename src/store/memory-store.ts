import { CounterOverflowError, IdempotencyKeyReusedError } from '../errors.js'
import {
  COUNTER_LIMIT,
  type Applied, type Idempotency, type Store, type StoredKv
} from './store.js'

interface MemoryRecord { fingerprint: string, answer: number, expiresAt: number }

/** Idempotency records kept per process; the oldest go first beyond this many. */
const MAX_RECORDS = 100_000

/**
 * A Map per process. Correct for one instance. Behind a balancer each instance
 * has its own Map, so reads miss writes made elsewhere and counters split: the
 * mistake the lab exists to show. Kept deliberately, not as a fallback.
 */
export class MemoryStore implements Store {
  readonly kind = 'memory' as const
  readonly #kv = new Map<string, StoredKv>()
  readonly #counters = new Map<string, number>()
  readonly #records = new Map<string, MemoryRecord>()

  async getKv (key: string): Promise<StoredKv | null> {
    return this.#kv.get(key) ?? null
  }

  async setKv (key: string, valueJson: string, idempotency?: Idempotency): Promise<Applied<number>> {
    return this.#once(idempotency, () => {
      const version = (this.#kv.get(key)?.version ?? 0) + 1
      this.#kv.set(key, { valueJson, version })
      return version
    })
  }

  async getCounter (name: string): Promise<number> {
    return this.#counters.get(name) ?? 0
  }

  async incrCounter (name: string, by: number, idempotency?: Idempotency): Promise<Applied<number>> {
    return this.#once(idempotency, () => {
      const value = (this.#counters.get(name) ?? 0) + by
      if (Math.abs(value) > COUNTER_LIMIT) throw new CounterOverflowError(name)
      this.#counters.set(name, value)
      return value
    })
  }

  async ping (): Promise<void> {}

  /** Applies `mutation` unless this idempotency key was seen; then answers as the first time. */
  #once (idempotency: Idempotency | undefined, mutation: () => number): Applied<number> {
    if (!idempotency) return { result: mutation(), replayed: false }
    const now = Date.now()
    const record = this.#records.get(idempotency.key)
    if (record && record.expiresAt > now) {
      if (record.fingerprint !== idempotency.fingerprint) throw new IdempotencyKeyReusedError()
      return { result: record.answer, replayed: true }
    }
    const answer = mutation()
    this.#records.delete(idempotency.key)
    this.#records.set(idempotency.key, { fingerprint: idempotency.fingerprint, answer, expiresAt: now + idempotency.ttlSeconds * 1000 })
    if (this.#records.size > MAX_RECORDS) {
      const oldest = this.#records.keys().next().value
      if (oldest !== undefined) this.#records.delete(oldest)
    }
    return { result: answer, replayed: false }
  }
}
