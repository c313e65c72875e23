/**
 * A lesson's options schema as commander flags, and flag values back into typed
 * options. One path for the CLI, `npm run lab` and the tests: text in (the
 * schema's defaults, then what was given), checked by TypeBox, decoded.
 */
import { InvalidArgumentError, Option, type Command } from 'commander'
import type { StaticDecode, StaticEncode, TObject, TSchema } from 'typebox'
import { Value } from 'typebox/value'

interface FlagSchema {
  type?: string
  enum?: string[]
  default?: unknown
  description?: string
  valueName?: string
  errorMessage?: string
}

/** readyWithin → ready-within */
function kebab (name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)
}

/** `--ready-within`, or `--no-retry` for a switch that is on by default (its description says what turning it off does). */
export function flagOf (name: string, schema: TSchema): string {
  const s = schema as FlagSchema
  return s.type === 'boolean' && s.default === true ? `--no-${kebab(name)}` : `--${kebab(name)}`
}

/**
 * "12" → 12 for an integer option; anything else is left for the schema to refuse
 * (TypeBox's own Convert would quietly read "2.5" as 2 and "0x10" as 16).
 */
function wholeNumber (schema: TSchema | undefined, value: unknown): unknown {
  return (schema as FlagSchema | undefined)?.type === 'integer' && typeof value === 'string' && /^-?[0-9]+$/.test(value.trim()) ? Number(value) : value
}

/** The commander Option for one property of an options schema. */
function optionFor (name: string, schema: TSchema): Option {
  const s = schema as FlagSchema
  const description = s.description ?? name
  if (s.type === 'boolean') return new Option(flagOf(name, schema), description)
  const option = new Option(`${flagOf(name, schema)} ${s.valueName ?? `<${kebab(name)}>`}`, description)
  if (s.enum !== undefined) option.choices(s.enum)
  if (s.default !== undefined) option.default(String(s.default))
  return option
}

/** Adds a flag for every property of `options` to `command`. */
export function addFlags (command: Command, options: TObject): Command {
  for (const [name, schema] of Object.entries(options.properties)) command.addOption(optionFor(name, schema))
  return command
}

/**
 * Flag values (commander's strings and booleans, or the lab's overrides) over the
 * schema's defaults → typed options. A bad value is an InvalidArgumentError that
 * names its flag and says what was expected.
 */
export function parseFlags<S extends TObject> (options: S, given: Partial<StaticEncode<S>> | Record<string, unknown>): StaticDecode<S> {
  const defined = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined).map(([name, v]) => [name, wholeNumber(options.properties[name], v)]))
  const value = Value.Default(options, defined)
  const error = Value.Errors(options, value)[0]
  if (error !== undefined) {
    const name = error.instancePath.split('/')[1] ?? ''
    const schema = options.properties[name] as FlagSchema | undefined
    const flag = schema === undefined ? name : flagOf(name, schema as TSchema)
    const got = (value as Record<string, unknown>)[name]
    throw new InvalidArgumentError(`${flag}: "${String(got)}" ${schema?.errorMessage ?? error.message}`)
  }
  // Property by property, so a decoder's refusal (an unknown signal, a bad mix) names its flag.
  const decoded: Record<string, unknown> = {}
  for (const [name, schema] of Object.entries(options.properties)) {
    const raw = (value as Record<string, unknown>)[name]
    if (raw === undefined) continue
    try {
      decoded[name] = Value.Decode(schema, raw)
    } catch (err) {
      throw new InvalidArgumentError(`${flagOf(name, schema)}: ${(err as Error).message}`)
    }
  }
  return decoded as StaticDecode<S>
}
