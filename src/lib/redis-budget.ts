import type { Redis } from 'ioredis'
import type { Budget, Grant } from './rate-limiter.js'

/** Where the counts live in Redis (under the service's own prefix, which its ACL user may touch). */
export const RATE_LIMIT_PREFIX = 'sl:rl:'

/**
 * A lease takes at most this share of what is left of the window's budget, so that
 * the instances (up to about this many) split the rest and leases shrink to one
 * request near the limit: the cluster never admits more than the limit, and at most
 * about one request per instance of it goes unused at the window's end.
 */
export const LEASE_SHARE = 8

/**
 * One fixed window per client: the count of requests granted to all instances so
 * far. Grants up to ARGV[1] more, never past the limit ARGV[2]; the window (ARGV[3]
 * ms) starts with the first grant. Returns {granted, ms left}. Atomic, so instances
 * leasing at once never grant more than the limit between them.
 *
 * `allow-oom`: a full Redis (maxmemory, noeviction) refuses writes, this script's
 * included, and the limit then failed open on every instance — off exactly while
 * one client floods the store. Its key is a few dozen bytes per client and window,
 * with an expiry, so it may go past the bound; the data's writes still may not.
 */
const LEASE = `#!lua flags=allow-oom
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
local left = tonumber(ARGV[2]) - count
if left <= 0 then return {0, redis.call('PTTL', KEYS[1])} end
local grant = math.max(1, math.min(tonumber(ARGV[1]), math.floor(left / ${LEASE_SHARE})))
if count == 0 then
  redis.call('SET', KEYS[1], grant, 'PX', ARGV[3])
  return {grant, tonumber(ARGV[3])}
end
redis.call('INCRBY', KEYS[1], grant)
return {grant, redis.call('PTTL', KEYS[1])}
`

type LeaseCommand = (key: string, most: number, max: number, windowMs: number) => Promise<[number, number]>

/**
 * The budget in Redis: one per client for the whole cluster. Asked once per lease,
 * not per request: counting every request in Redis (@fastify/rate-limit's
 * RedisStore does, one script per request) cost ~40% of GET /kv's throughput on
 * one instance here (docs/hardening.md).
 */
export class RedisBudget implements Budget {
  readonly #lease: LeaseCommand

  constructor (redis: Redis) {
    if (!('slRateLease' in redis)) redis.defineCommand('slRateLease', { numberOfKeys: 1, lua: LEASE })
    this.#lease = (redis as unknown as { slRateLease: LeaseCommand }).slRateLease.bind(redis)
  }

  async lease (key: string, most: number, max: number, windowMs: number): Promise<Grant> {
    const [granted, ttl] = await this.#lease(RATE_LIMIT_PREFIX + key, most, max, windowMs)
    // No expiry (someone else wrote the key): count the window as a whole one.
    return { granted, ttlMs: ttl > 0 ? ttl : windowMs }
  }
}
