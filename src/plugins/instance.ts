import fp from 'fastify-plugin'
import { INSTANCE_HEADER } from '../shared/contract.js'

export interface InstanceInfo {
  /** INSTANCE_ID: names this process in `x-instance` and in GET /. */
  readonly id: string
  /** The port it listens on (the real one once listening, even with PORT=0). */
  port: number
}

declare module 'fastify' {
  interface FastifyInstance {
    instance: InstanceInfo
  }
}

/** Stamps every response with `x-instance`, so a client can see who answered through the balancer. */
export default fp<{ id: string, port: number }>(function instancePlugin (app, opts, done) {
  const info: InstanceInfo = { id: opts.id, port: opts.port }
  app.decorate('instance', info)
  app.addHook('onListen', function (next) {
    const address = app.server.address()
    if (address !== null && typeof address === 'object') info.port = address.port
    next()
  })
  app.addHook('onRequest', function (_request, reply, next) {
    reply.header(INSTANCE_HEADER, info.id)
    next()
  })
  done()
}, { name: 'instance', fastify: '5.x' })
