import fp from 'fastify-plugin'
import { errorCodes } from 'fastify'
import sjson from 'secure-json-parse'
import { InvalidJsonError } from '../errors.js'
import { checkJson } from '../lib/strict-json.js'
import { MAX_BODY_ELEMENTS, MAX_VALUE_DEPTH } from '../schemas/common.js'

const bounds = { maxDepth: MAX_VALUE_DEPTH, maxElements: MAX_BODY_ELEMENTS }

/**
 * application/json, strictly: Fastify's own parser (secure-json-parse, which refuses
 * `__proto__` and `constructor.prototype`) after checkJson, which refuses what
 * JSON.parse would silently change (duplicate keys, numbers a double cannot hold)
 * and bounds the element count and depth before anything is built. Every refusal is
 * a 400 whose message says what to fix. The body limit stays the app's (64 KiB).
 */
export default fp(function jsonBodyPlugin (app, _opts, done) {
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, function (_request, body, parsed) {
    const text = body as string
    if (text.length === 0) return parsed(new errorCodes.FST_ERR_CTP_EMPTY_JSON_BODY(), undefined)
    try {
      checkJson(text, bounds)
      parsed(null, sjson.parse(text, { protoAction: 'error', constructorAction: 'error' }))
    } catch (err) {
      parsed(err instanceof SyntaxError ? new InvalidJsonError(err.message) : err as Error, undefined)
    }
  })
  done()
}, { name: 'json-body', fastify: '5.x' })
