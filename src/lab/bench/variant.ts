/**
 * The bench's hot-path variants: the bundled service with one choice undone
 * (Redis auto-pipelining, response schemas, GET /kv unparsed), in a scratch copy.
 */
import { cpSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { PROJECT_DIR } from '../paths.js'
import type { PoolSpec } from './matrix.js'

export class VariantError extends Error {
  override name = 'VariantError'
}

/**
 * A line of the service's source as the bundle has it: esbuild writes it without
 * whitespace (scripts/bundle-server.js), so each space may be gone, and a
 * statement's final semicolon before a closing brace.
 */
function sourcePattern (code: string): RegExp {
  return new RegExp(code.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/ /g, '\\s*').replace(/;$/, ';?'))
}

/**
 * A scratch copy of dist/ (the service only) with one hot-path choice undone,
 * to measure what it is worth without touching src/. Fails loudly when the
 * compiled code no longer has the line it patches.
 */
export function prepareVariant (root: string, patch: NonNullable<PoolSpec['patch']>): string {
  const dir = join(root, `variant-${patch}`)
  cpSync(join(PROJECT_DIR, 'dist'), join(dir, 'dist'), { recursive: true, filter: (src) => !src.startsWith(join(PROJECT_DIR, 'dist', 'lab')) })
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n')
  symlinkSync(join(PROJECT_DIR, 'node_modules'), join(dir, 'node_modules'), 'dir')
  const edit = (file: string, find: string, replace: string) => {
    const path = join(dir, 'dist', file)
    const text = readFileSync(path, 'utf8')
    const found = sourcePattern(find).exec(text)
    if (found === null) throw new VariantError(`cannot build the ${patch} variant: dist/${file} has no "${find}" (rebuild, or update src/lab/bench/variant.ts)`)
    writeFileSync(path, text.slice(0, found.index) + replace + text.slice(found.index + found[0].length))
  }
  // dist/server.js is the esbuild bundle of the whole service (scripts/bundle-server.js): patch it.
  if (patch === 'no-pipelining') {
    edit('server.js', 'enableAutoPipelining: true', 'enableAutoPipelining: false')
  } else if (patch === 'parse-kv') {
    // GET /kv as it was: the stored text parsed, then serialised again from the response schema.
    edit('server.js', 'return reply.type(JSON_CONTENT_TYPE).send(kvEntryJson(key, stored));', 'return { key, value: JSON.parse(stored.valueJson), version: stored.version };')
  } else {
    // Strip every route's response schemas as routes are declared: Fastify then serialises with JSON.stringify.
    edit('server.js', '}).withTypeProvider();', '}).withTypeProvider();\n  app.addHook("onRoute", (route) => { if (route.schema) { const { response, ...rest } = route.schema; route.schema = rest; } });')
  }
  return join(dir, 'dist', 'server.js')
}
