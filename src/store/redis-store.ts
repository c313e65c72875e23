import { ReplyError, type Redis } from 'ioredis'
import { CounterOverflowError, IdempotencyKeyReusedError, StoreNotReplicatedError, StoreUnavailableError } from '../errors.js'
import { COUNTER_INCR, KV_SET } from './redis-scripts.js'
import {
  COUNTER_LIMIT,
  type Applied, type Idempotency, type Store, type StoredKv
} from './store.js'

type Reply = [number, string | number]
type Script = (numberOfKeys: number, ...keysThenArgs: Array<string | number>) => Promise<Reply>

/** The counter script's "not applied: out of range" reply (see redis-scripts.ts). */
const OVERFLOW = 2

export interface RedisStoreOptions {
  /**
   * Durable mode: a mutation is acknowledged only once a replica has it (WAIT 1
   * after the script, waiting at most this long); else StoreNotReplicatedError.
   */
  durableTimeoutMs?: number
}

/** Key layout in Redis: one prefix per kind of record. */
export const keys = {
  kv: (key: string) => `sl:kv:${key}`,
  counter: (name: string) => `sl:ctr:${name}`,
  idempotency: (key: string) => `sl:idem:${key}`
}

/** The shared store: every instance reads and writes the same Redis. */
export class RedisStore implements Store {
  readonly kind = 'redis' as const
  readonly #redis: Redis
  readonly #kvSet: Script
  readonly #counterIncr: Script
  readonly #durableTimeoutMs: number | undefined

  constructor (redis: Redis, options: RedisStoreOptions = {}) {
    this.#redis = redis
    this.#durableTimeoutMs = options.durableTimeoutMs
    redis.defineCommand('slKvSet', { lua: KV_SET })
    redis.defineCommand('slCounterIncr', { lua: COUNTER_INCR })
    const commands = redis as unknown as Record<'slKvSet' | 'slCounterIncr', Script>
    this.#kvSet = commands.slKvSet.bind(redis)
    this.#counterIncr = commands.slCounterIncr.bind(redis)
  }

  async getKv (key: string): Promise<StoredKv | null> {
    const [valueJson, version] = await unavailableOnError(this.#redis.hmget(keys.kv(key), 'v', 'ver'))
    if (valueJson == null || version == null) return null
    return { valueJson, version: Number(version) }
  }

  async setKv (key: string, valueJson: string, idempotency?: Idempotency): Promise<Applied<number>> {
    const reply = await this.#mutation(idempotency
      ? this.#kvSet(2, keys.kv(key), keys.idempotency(idempotency.key), valueJson, idempotency.fingerprint, idempotency.ttlSeconds)
      : this.#kvSet(1, keys.kv(key), valueJson))
    return applied(reply, idempotency)
  }

  async getCounter (name: string): Promise<number> {
    const value = await unavailableOnError(this.#redis.get(keys.counter(name)))
    return value === null ? 0 : Number(value)
  }

  async incrCounter (name: string, by: number, idempotency?: Idempotency): Promise<Applied<number>> {
    const reply = await this.#mutation(idempotency
      ? this.#counterIncr(2, keys.counter(name), keys.idempotency(idempotency.key), by, idempotency.fingerprint, idempotency.ttlSeconds, COUNTER_LIMIT)
      : this.#counterIncr(1, keys.counter(name), by, '', 0, COUNTER_LIMIT))
    if (reply[0] === OVERFLOW) throw new CounterOverflowError(name)
    return applied(reply, idempotency)
  }

  async ping (): Promise<void> {
    await unavailableOnError(this.#redis.ping())
  }

  /**
   * Runs a mutation script; in durable mode, then waits until a replica has it.
   * WAIT counts the replicas that acknowledged this connection's writes so far,
   * so it must follow the script on the same connection: the client has one, and
   * auto-pipelining keeps the order. Concurrent requests' WAITs share Redis'
   * rounds of acknowledgements from the replicas (~2 per round, measured: see
   * docs/store-ha.md), and a WAIT blocks the connection until it returns.
   */
  async #mutation (script: Promise<Reply>): Promise<Reply> {
    const reply = await unavailableOnError(script)
    if (this.#durableTimeoutMs !== undefined && reply[0] !== OVERFLOW) {
      const replicas = await unavailableOnError(this.#redis.wait(1, this.#durableTimeoutMs))
      if (replicas < 1) throw new StoreNotReplicatedError()
    }
    return reply
  }
}

/**
 * An idempotency record is "<fingerprint>|<answer>" (the Lua scripts write it). A
 * replay whose request has a different fingerprint reuses a key for something
 * else, which is refused.
 */
function decodeRecord (record: string): { fingerprint: string, answer: number } {
  const at = record.lastIndexOf('|')
  return { fingerprint: record.slice(0, at), answer: Number(record.slice(at + 1)) }
}

function applied ([replayed, answer]: Reply, idempotency?: Idempotency): Applied<number> {
  if (replayed === 0) return { result: Number(answer), replayed: false }
  const record = decodeRecord(String(answer))
  if (idempotency && record.fingerprint !== idempotency.fingerprint) {
    throw new IdempotencyKeyReusedError()
  }
  return { result: record.answer, replayed: true }
}

/** Reply errors that mean "Redis cannot serve right now", not "this command is wrong". */
const TRANSIENT_REPLY = /^(LOADING|BUSY|MASTERDOWN|READONLY|TRYAGAIN|OOM|NOREPLICAS|CLUSTERDOWN)\b/

/**
 * A failure to talk to Redis (not connected, a timeout, a transient reply such as
 * LOADING after a restart) becomes one 503 that clients may retry. Any other
 * reply error (WRONGTYPE, a script error) is a bug, not an outage: it goes on as
 * is, to be logged as a 500, rather than hide among 503s that nginx retries.
 */
async function unavailableOnError<T> (command: Promise<T>): Promise<T> {
  try {
    return await command
  } catch (cause) {
    if (cause instanceof ReplyError && !TRANSIENT_REPLY.test((cause as Error).message)) throw cause
    const err = new StoreUnavailableError()
    err.cause = cause
    throw err
  }
}
