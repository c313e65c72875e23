import type { FastifyBaseLogger } from 'fastify'

/** What a budget grants one client for the current window. */
export interface Grant {
  /** Requests granted now (0: the window's budget is spent). */
  granted: number
  /** How long until the window ends, in ms. */
  ttlMs: number
}

/** Where a client's budget per window is kept: Redis (one for the cluster) or this process. */
export interface Budget {
  /** Grants up to `most` more of `max` requests per `windowMs` window for `key`. */
  lease (key: string, most: number, max: number, windowMs: number): Promise<Grant>
}

/**
 * The most requests one lease grants: at most one trip to the budget per this many
 * requests. Far from its limit a client uses its whole lease; near it leases shrink
 * to LEASE_SHARE's share of what is left, so a larger lease costs no accuracy.
 */
export const LEASE_MAX = 256

/** After a failure of the budget's store, the limit admits everyone for this long without asking it. */
export const FAIL_OPEN_MS = 1000

/** Clients remembered before the ones whose window has ended are swept out. */
const MAX_CLIENTS = 10_000

interface Lease { left: number, expiresAt: number, spent: boolean }

/**
 * A fixed-window rate limit per client, cheap on the hot path: the instance leases
 * part of a client's budget (up to LEASE_MAX requests) and admits that many from
 * memory, synchronously; only a client whose lease ran out waits for the budget,
 * and a client whose budget is spent is refused from memory until its window ends.
 *
 * check() returns the seconds to wait (0: admitted), or a promise of it when the
 * budget must be asked. It fails open: when the budget's store fails, the first
 * failure is logged, every request is admitted for FAIL_OPEN_MS without asking,
 * and the recovery is logged — a rate limit must never take the service down.
 */
export class RateLimiter {
  readonly #budget: Budget
  readonly #max: number
  readonly #windowMs: number
  readonly #log: FastifyBaseLogger
  readonly #leases = new Map<string, Lease>()
  readonly #renewing = new Map<string, Promise<void>>()
  #failing = false
  #skipUntil = 0

  constructor (budget: Budget, max: number, windowMs: number, log: FastifyBaseLogger) {
    this.#budget = budget
    this.#max = max
    this.#windowMs = windowMs
    this.#log = log
  }

  check (key: string): number | Promise<number> {
    const now = Date.now()
    if (now < this.#skipUntil) return 0
    const lease = this.#leases.get(key)
    if (lease !== undefined && lease.expiresAt > now) {
      if (lease.left > 0) {
        lease.left--
        return 0
      }
      if (lease.spent) return Math.max(1, Math.ceil((lease.expiresAt - now) / 1000))
    }
    return this.#renewThenCheck(key)
  }

  async #renewThenCheck (key: string): Promise<number> {
    // One renewal at a time per client: requests arriving meanwhile share its grant.
    let renewal = this.#renewing.get(key)
    if (renewal === undefined) {
      renewal = this.#renew(key).finally(() => this.#renewing.delete(key))
      this.#renewing.set(key, renewal)
    }
    try {
      await renewal
    } catch (err) {
      if (!this.#failing) this.#log.warn({ err }, 'rate limit store unavailable: letting requests through')
      this.#failing = true
      this.#skipUntil = Date.now() + FAIL_OPEN_MS
      return 0
    }
    if (this.#failing) this.#log.warn('rate limit store back: counting again')
    this.#failing = false
    return this.check(key)
  }

  async #renew (key: string): Promise<void> {
    const { granted, ttlMs } = await this.#budget.lease(key, LEASE_MAX, this.#max, this.#windowMs)
    if (this.#leases.size >= MAX_CLIENTS) this.#forgetEnded()
    this.#leases.set(key, { left: granted, expiresAt: Date.now() + ttlMs, spent: granted === 0 })
  }

  #forgetEnded (): void {
    const now = Date.now()
    for (const [key, lease] of this.#leases) if (lease.expiresAt <= now) this.#leases.delete(key)
  }
}

/**
 * The budget in this process's memory: the whole window's budget in one lease, so
 * each instance counts alone. Behind N instances a client gets N times the limit —
 * the lesson RATE_LIMIT_STORE=instance (and STORE=memory) is there to show.
 */
export class LocalBudget implements Budget {
  readonly #windows = new Map<string, { count: number, endsAt: number }>()

  async lease (key: string, _most: number, max: number, windowMs: number): Promise<Grant> {
    const now = Date.now()
    let window = this.#windows.get(key)
    if (window === undefined || window.endsAt <= now) {
      if (this.#windows.size >= MAX_CLIENTS) for (const [k, w] of this.#windows) if (w.endsAt <= now) this.#windows.delete(k)
      window = { count: 0, endsAt: now + windowMs }
      this.#windows.set(key, window)
    }
    const granted = max - window.count
    window.count = max
    return { granted, ttlMs: window.endsAt - now }
  }
}

/**
 * The key a client is counted under: its address, and for IPv6 its /64 (one
 * customer's network: an attacker owns all of it and could rotate through it).
 */
export function clientKey (ip: string): string {
  if (!ip.includes(':')) return ip
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)
  if (mapped) return mapped[1]!
  const [head = '', tail] = ip.toLowerCase().split('%', 1)[0]!.split('::')
  const left = head === '' ? [] : head.split(':')
  const right = tail === undefined || tail === '' ? [] : tail.split(':')
  const groups = tail === undefined ? left : [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right]
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`
}
