/**
 * What is wrong with a value, against a result schema, in words a reader can
 * act on: one line per field, "/load/latencyMs/p99: expected number, got "5"".
 * TypeBox's Value.Errors reports every branch of a union separately; these are
 * merged per field ("expected string or number"), and a union whose object
 * branch got further (an object with one bad field, where null was also
 * allowed) reports only the deeper problem.
 */
import type { TSchema } from 'typebox'
import { Value } from 'typebox/value'

/** The value at a JSON pointer ("/cells/0/id"), or undefined. */
function at (root: unknown, pointer: string): unknown {
  let value = root
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~')
    value = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined
  }
  return value
}

function describe (value: unknown): string {
  if (value === undefined) return 'nothing'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'object' && value !== null) return 'an object'
  return JSON.stringify(value)
}

/** Problems found, one per field (an empty list: the value fits the schema). */
export function problemsOf (schema: TSchema, value: unknown): string[] {
  if (Value.Check(schema, value)) return []
  const expected = new Map<string, string[]>()
  const add = (path: string, what: string) => {
    const list = expected.get(path) ?? []
    if (!list.includes(what)) list.push(what)
    expected.set(path, list)
  }
  for (const error of Value.Errors(schema, value)) {
    const params = error.params as Record<string, unknown>
    switch (error.keyword) {
      case 'anyOf':
        break // the branches' own errors say more
      case 'required':
        for (const key of params.requiredProperties as string[]) add(`${error.instancePath}/${key}`, 'missing')
        break
      case 'type':
        add(error.instancePath, String(params.type))
        break
      case 'const':
        add(error.instancePath, JSON.stringify(params.allowedValue))
        break
      case 'pattern':
        add(error.instancePath, `a string matching ${String(params.pattern)}`)
        break
      case 'format':
        add(error.instancePath, `a ${String(params.format)} string`)
        break
      default:
        add(error.instancePath, error.message)
    }
  }
  const paths = [...expected.keys()]
  return paths
    // A union branch that failed deeper down (inside an object) explains more than "or null".
    .filter((path) => !paths.some((other) => other.startsWith(`${path}/`)))
    .map((path) => {
      const what = expected.get(path)!
      const field = path === '' ? '/' : path
      return what.includes('missing') ? `${field}: missing` : `${field}: expected ${what.join(' or ')}, got ${describe(at(value, path))}`
    })
}
