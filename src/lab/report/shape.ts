/**
 * A tiny runtime shape checker whose validators are typed against the TypeScript
 * types they check. Why not a schema library: the contract already lives in
 * results.ts as plain types; `object<T>()` demands one validator per key of T
 * (optional keys included) and refuses unknown keys, so if results.ts changes
 * and the validators do not, `tsc` fails instead of the report silently
 * misreading a file.
 */

/** Checks `value` at `path`, pushing one message per problem. `T` only ties it to a type. */
export interface Validator<T> {
  (value: unknown, path: string, problems: string[]): void
  /**
   * Phantom, never set: ties the validator to exactly T (in and out, so
   * invariant), which makes `object<T>()` reject a validator for a narrower
   * union, e.g. a `oneOf` that forgot one of the allowed strings.
   */
  readonly type?: (t: T) => T
}

function describe (value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return typeof value === 'string' ? `"${value}"` : typeof value === 'object' ? 'an object' : String(value)
}

export const number: Validator<number> = (value, path, problems) => {
  if (typeof value !== 'number' || !Number.isFinite(value)) problems.push(`${path} should be a number, got ${describe(value)}`)
}

export const string: Validator<string> = (value, path, problems) => {
  if (typeof value !== 'string') problems.push(`${path} should be a string, got ${describe(value)}`)
}

export const boolean: Validator<boolean> = (value, path, problems) => {
  if (typeof value !== 'boolean') problems.push(`${path} should be true or false, got ${describe(value)}`)
}

/** One of a fixed set of strings (a union of literals in results.ts). */
export function oneOf<const L extends string> (...allowed: L[]): Validator<L> {
  return (value, path, problems) => {
    if (!allowed.includes(value as L)) problems.push(`${path} should be one of ${allowed.join(', ')}, got ${describe(value)}`)
  }
}

/** `T | undefined`: an optional key may be absent; when present it must be a T. */
export function optional<T> (inner: Validator<T>): Validator<T | undefined> {
  return (value, path, problems) => {
    if (value !== undefined) inner(value, path, problems)
  }
}

export function nullable<T> (inner: Validator<T>): Validator<T | null> {
  return (value, path, problems) => {
    if (value !== null) inner(value, path, problems)
  }
}

export function arrayOf<T> (inner: Validator<T>): Validator<T[]> {
  return (value, path, problems) => {
    if (!Array.isArray(value)) {
      problems.push(`${path} should be an array, got ${describe(value)}`)
      return
    }
    value.forEach((item, i) => inner(item, `${path}[${i}]`, problems))
  }
}

export function isPlainObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export function recordOf<T> (inner: Validator<T>): Validator<Record<string, T>> {
  return (value, path, problems) => {
    if (!isPlainObject(value)) {
      problems.push(`${path} should be an object, got ${describe(value)}`)
      return
    }
    for (const [key, item] of Object.entries(value)) inner(item, `${path}.${key}`, problems)
  }
}

/**
 * An object with exactly the keys of T, each with its validator. Extra keys in
 * the file are tolerated (a producer may add detail before the contract does);
 * missing required keys and wrong types are not.
 */
export function object<T> (fields: { [K in keyof T]-?: Validator<T[K]> }): Validator<T> {
  return (value, path, problems) => {
    if (!isPlainObject(value)) {
      problems.push(`${path} should be an object, got ${describe(value)}`)
      return
    }
    for (const key of Object.keys(fields) as Array<keyof T & string>) {
      fields[key](value[key], `${path}.${key}`, problems)
    }
  }
}

/** Runs a validator from the top; returns the problems found (empty when the value fits). */
export function problemsOf<T> (validator: Validator<T>, value: unknown, path = '$'): string[] {
  const problems: string[] = []
  validator(value, path, problems)
  return problems
}
