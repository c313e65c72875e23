import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { rootSchema } from '../schemas/root.js'

/** GET / — who answered: the instance a balancer picked, its pid and port. */
const rootRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/', { schema: rootSchema }, async () => ({
    instance: app.instance.id,
    pid: process.pid,
    port: app.instance.port,
    uptimeSeconds: Math.round(process.uptime() * 1000) / 1000
  }))
}

export default rootRoutes
