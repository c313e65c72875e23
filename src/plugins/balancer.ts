import fp from 'fastify-plugin'

declare module 'fastify' {
  interface FastifyInstance {
    /** Whether a socket peer is the balancer (one of TRUST_PROXY's addresses). */
    isBalancer (address: string | undefined): boolean
  }
}

export interface BalancerOptions {
  /** TRUST_PROXY compiled (config.ts proxyTrust): the same test Fastify's trustProxy applies. */
  trust: (address: string, hop: number) => boolean
}

/**
 * Who the balancer is, for what only it may say: the X-Request-Id that nginx sets
 * is an idempotency key only on a request whose socket peer is the balancer. An
 * instance reached directly would otherwise take any client's id as a key.
 */
export default fp<BalancerOptions>(function balancerPlugin (app, opts, done) {
  app.decorate('isBalancer', (address: string | undefined) => address !== undefined && opts.trust(address, 0))
  done()
}, { name: 'balancer', fastify: '5.x' })
