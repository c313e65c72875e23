import type { FastifyRequest } from 'fastify'
import { clientKey } from './rate-limiter.js'

/** Peers, and X-Forwarded-For values, remembered by default. */
const MAX_REMEMBERED = 10_000

/**
 * Which client a request counts against: clientKey(request.ip), without deriving
 * request.ip on every request. Fastify's getter walks X-Forwarded-For through
 * proxy-addr, which parses each address with ipaddr.js to test it against
 * TRUST_PROXY (docs/hardening.md has what that cost). The answer depends only on
 * the socket peer and, when the peer is the balancer, on the X-Forwarded-For it
 * sent, so it is remembered per peer and per header value; a miss asks Fastify,
 * so a hit is always what request.ip would have said.
 */
export class RateLimitClients {
  readonly #isBalancer: (address: string) => boolean
  readonly #most: number
  /** Peer → its key, or null: the balancer, whose X-Forwarded-For names the client. */
  readonly #peers = new Map<string, string | null>()
  /** X-Forwarded-For (from the balancer) → the key of the client it names. */
  readonly #forwarded = new Map<string, string>()

  /**
   * isBalancer: TRUST_PROXY's test of a socket peer, the one Fastify's trustProxy applies first.
   * most: peers (and header values) remembered; past it the memo starts over.
   */
  constructor (isBalancer: (address: string) => boolean, most = MAX_REMEMBERED) {
    this.#isBalancer = isBalancer
    this.#most = most
  }

  of (request: FastifyRequest): string {
    const raw = request.raw
    const peer = raw.socket.remoteAddress ?? ''
    let own = this.#peers.get(peer)
    if (own === undefined) {
      own = this.#isBalancer(peer) ? null : clientKey(peer)
      this.#remember(this.#peers, peer, own)
    }
    if (own !== null) return own
    const forwarded = raw.headers['x-forwarded-for']
    if (typeof forwarded !== 'string') return clientKey(peer)
    let key = this.#forwarded.get(forwarded)
    if (key === undefined) {
      // Only reached from a trusted peer: trustProxy is on, and Fastify's `ips` ends with the client.
      const ips = request.ips!
      key = clientKey(ips[ips.length - 1]!)
      // A header that names no address leaves the peer as the client: not a fact about the header alone.
      if (ips.length > 1) this.#remember(this.#forwarded, forwarded, key)
    }
    return key
  }

  #remember<V> (memo: Map<string, V>, key: string, value: V): void {
    if (memo.size >= this.#most) memo.clear()
    memo.set(key, value)
  }
}
