import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { rootSchema } from '../schemas/root.js'

export interface RootOptions {
  /** SHOW_INTERNALS=1: add pid, port and uptime (the lab's kill drill reads the pid). */
  showInternals: boolean
}

/**
 * GET / — who answered: the instance a balancer picked. Its pid, port and uptime
 * tell a stranger how the service is laid out and when it last restarted, so they
 * are there only when the lab asks for them.
 */
const rootRoutes: FastifyPluginAsyncTypebox<RootOptions> = async (app, opts) => {
  app.get('/', { schema: rootSchema }, async () => opts.showInternals
    ? {
        instance: app.instance.id,
        pid: process.pid,
        port: app.instance.port,
        uptimeSeconds: Math.round(process.uptime() * 1000) / 1000
      }
    : { instance: app.instance.id })
}

export default rootRoutes
