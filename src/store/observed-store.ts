import { StoreNotReplicatedError, StoreUnavailableError } from '../errors.js'
import type { Applied, Idempotency, Store, StoredKv } from './store.js'

/** The store's operations, as metrics label them (its method names). */
export type StoreOperation = 'getKv' | 'setKv' | 'getCounter' | 'incrCounter' | 'ping'

/**
 * How an operation ended: applied or read (ok), answered from an idempotency record
 * (replayed), the store did not answer (unavailable: a 503), no replica confirmed
 * the write in durable mode (not_replicated: a 503, outcome unknown), refused as
 * the client's mistake (refused: a reused key, an overflow), or a bug (error: a 500).
 */
export type StoreOutcome = 'ok' | 'replayed' | 'unavailable' | 'not_replicated' | 'refused' | 'error'

/** Told of every store operation once it settles, with how long it took. */
export interface StoreObserver {
  observe (operation: StoreOperation, outcome: StoreOutcome, seconds: number): void
}

/**
 * A store that reports each operation to an observer, then answers exactly as the
 * store it wraps. On Redis one operation is one command (HMGET, EVALSHA, GET,
 * PING; a mutation in durable mode adds its WAIT), so its duration is the Redis
 * round trip as the service sees it, queueing in the client included.
 */
export class ObservedStore implements Store {
  readonly #inner: Store
  readonly #observer: StoreObserver

  constructor (inner: Store, observer: StoreObserver) {
    this.#inner = inner
    this.#observer = observer
  }

  get kind () { return this.#inner.kind }

  getKv (key: string): Promise<StoredKv | null> {
    return this.#watch('getKv', () => this.#inner.getKv(key), read)
  }

  setKv (key: string, valueJson: string, idempotency?: Idempotency): Promise<Applied<number>> {
    return this.#watch('setKv', () => this.#inner.setKv(key, valueJson, idempotency), applied)
  }

  getCounter (name: string): Promise<number> {
    return this.#watch('getCounter', () => this.#inner.getCounter(name), read)
  }

  incrCounter (name: string, by: number, idempotency?: Idempotency): Promise<Applied<number>> {
    return this.#watch('incrCounter', () => this.#inner.incrCounter(name, by, idempotency), applied)
  }

  ping (): Promise<void> {
    return this.#watch('ping', () => this.#inner.ping(), read)
  }

  async #watch<T> (operation: StoreOperation, run: () => Promise<T>, outcomeOf: (result: T) => StoreOutcome): Promise<T> {
    const started = performance.now()
    try {
      const result = await run()
      this.#observer.observe(operation, outcomeOf(result), (performance.now() - started) / 1000)
      return result
    } catch (err) {
      this.#observer.observe(operation, failureOf(err), (performance.now() - started) / 1000)
      throw err
    }
  }
}

/** The store wrapped to report to `observer`, or the store itself when there is none. */
export function observed (store: Store, observer?: StoreObserver): Store {
  return observer ? new ObservedStore(store, observer) : store
}

function read (): StoreOutcome {
  return 'ok'
}

function applied (result: Applied<number>): StoreOutcome {
  return result.replayed ? 'replayed' : 'ok'
}

function failureOf (err: unknown): StoreOutcome {
  if (err instanceof StoreUnavailableError) return 'unavailable'
  if (err instanceof StoreNotReplicatedError) return 'not_replicated'
  const statusCode = (err as { statusCode?: number }).statusCode
  return statusCode !== undefined && statusCode < 500 ? 'refused' : 'error'
}
