import fp from 'fastify-plugin'
import type { FastifyError } from 'fastify'
import { NoRouteError, errorBody } from '../errors.js'

/**
 * One error handler for the whole app: every error leaves as
 * `{ statusCode, code, error, message }`. Client errors keep their message (it
 * says what to fix); a 5xx keeps it only when it is one of ours (SL_*, written to
 * be shown), otherwise the client sees "Internal Server Error" and the log gets
 * the details with the request's context.
 */
export default fp(function errorsPlugin (app, _opts, done) {
  app.setErrorHandler(function (error: FastifyError, request, reply) {
    const statusCode = error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 600
      ? error.statusCode
      : 500
    const ours = typeof error.code === 'string' && error.code.startsWith('SL_')
    let message = error.message
    if (statusCode >= 500 && !ours) {
      request.log.error({ err: error }, 'request failed')
      message = 'Internal Server Error'
    } else if (statusCode >= 500) {
      // Expected while Redis is down or the instance drains: the redis plugin logs the
      // transition once; a line per request would flood the log during an outage.
      request.log.debug({ err: error }, message)
    }
    reply.code(statusCode).send(errorBody(statusCode, error.code ?? `HTTP_${statusCode}`, message))
  })
  // No route for this method and path: the same JSON error, with a code (Fastify's own has none).
  app.setNotFoundHandler(function (request) {
    throw new NoRouteError(request.method, shortPath(request.url))
  })
  done()
}, { name: 'errors', fastify: '5.x' })

/** The path a client asked for, without its query, and short enough for a message. */
function shortPath (url: string): string {
  const path = url.split('?', 1)[0]!
  return path.length > 200 ? `${path.slice(0, 197)}...` : path
}
