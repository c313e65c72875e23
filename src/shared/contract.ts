import { Type } from 'typebox'

/**
 * What the service and the lab agree on, defined once: both import these values,
 * so the lab never imports the service itself (and the service never the lab).
 * Settings that both sides read from the environment share their TypeBox
 * definition here, with its one default.
 */

/** pino's levels, quietest last. At warn and above the service builds no per-request lines. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export type LogLevel = typeof LOG_LEVELS[number]

/** LOG_LEVEL: one definition; each side sets its own default (the service info, the stack warn). */
export const LogLevelSetting = (defaultLevel: LogLevel) => Type.Enum([...LOG_LEVELS], { default: defaultLevel })

/** The stores an instance can keep its data in: Redis, shared by all, or a Map of its own. */
export const STORES = ['redis', 'memory'] as const
export type StoreKind = typeof STORES[number]

/** STORE: one definition, one default, for the service and the stack. */
export const StoreSetting = Type.Enum([...STORES], { default: 'redis' })

/** The balancer's address on one machine (nginx on loopback): whom the instances trust by default. */
export const DEFAULT_TRUST_PROXY = '127.0.0.1'

/** TRUST_PROXY: the balancer whose X-Forwarded-* headers are believed (comma-separated addresses or CIDRs; empty: none). */
export const TrustProxySetting = Type.String({ default: DEFAULT_TRUST_PROXY })

/** Response header present (value "true") when an answer is the replay of an earlier one. */
export const REPLAY_HEADER = 'idempotent-replay'

/** The error code of work an instance refuses past its admission bound (503, with Retry-After): load shed on purpose. */
export const OVERLOADED_CODE = 'SL_OVERLOADED'

/** The error code of a request the store could not serve (503): Redis down, restarting, loading its AOF. Transient: retry. */
export const STORE_UNAVAILABLE_CODE = 'SL_STORE_UNAVAILABLE'

/**
 * WORK_CONCURRENCY and WORK_QUEUE: how many GET /work run at once per instance, and
 * how many more may wait. One definition for the service (its admission) and the
 * stack (nginx's bound on the GET /work requests in flight per instance is
 * WORK_CONCURRENCY, src/lab/stack/parts/nginx.ts). Two: 4 instances × 2 keep the
 * 2 cores busy, and a served work shares its instance with one other instead of
 * seven (measured: served p99 at 2× capacity 2.4× its 0.5× value, against 5.2×
 * at 8; docs/gray-failures.md, "Shedding at the edge").
 */
export const WORK_DEFAULTS = { concurrency: 2, queue: 16 } as const
export const WorkConcurrencySetting = Type.Integer({ default: WORK_DEFAULTS.concurrency, minimum: 1, maximum: 1024 })
export const WorkQueueSetting = Type.Integer({ default: WORK_DEFAULTS.queue, minimum: 0, maximum: 100_000 })

/** Response header naming the instance that answered. */
export const INSTANCE_HEADER = 'x-instance'

/** REDIS_MODE: one Redis (single), or a primary with replicas found through Sentinels (sentinel). */
export const REDIS_MODES = ['single', 'sentinel'] as const
export type RedisMode = typeof REDIS_MODES[number]

/** REDIS_MODE: one definition, one default, for the service and the stack. */
export const RedisModeSetting = Type.Enum([...REDIS_MODES], { default: 'single' })

/** REDIS_DURABLE: 1 acknowledges a mutation only once a replica has it; one definition for the service and the stack. */
export const RedisDurableSetting = Type.Enum(['0', '1'], { default: '0' })

/** The name Sentinels monitor the primary under: REDIS_MASTER_NAME's default, and the lab's topology's. */
export const DEFAULT_REDIS_MASTER_NAME = 'scale-lab'
