/**
 * The kinds of option a lesson takes, as TypeBox schemas. Each holds its one
 * default and its description, written as the flag's text (`--every 2s`), and
 * decodes to what the lesson's code uses (seconds, a Mix, a signal). Two keys
 * of our own ride along in each schema: `valueName`, what the flag's help shows
 * (`--every <duration>`), and `errorMessage`, what a bad value is told. The CLI
 * flags, `npm run lab` and the tests all go through these schemas (flags.ts), so
 * a default lives in exactly one place: the lesson's declaration.
 */
import { constants } from 'node:os'
import { Type } from 'typebox'
import { parseMix } from '../drills/mix.js'

const DURATION = '^[0-9]+(\\.[0-9]+)?(ms|s|m)?$'

/** "2s", "500ms", "1m", "30" (seconds) → seconds. */
export function parseSeconds (text: string): number {
  const match = new RegExp(DURATION).exec(text.trim())
  if (!match) throw new Error(`"${text}" is not a duration such as 2s, 500ms or 1m`)
  const value = Number(text.trim().replace(/(ms|s|m)$/, ''))
  const unit = match[2]
  const seconds = unit === 'ms' ? value / 1000 : unit === 'm' ? value * 60 : value
  if (!(seconds > 0)) throw new Error(`"${text}" must be longer than zero`)
  return seconds
}

/** A duration flag (`--every 2s`) → seconds. */
export const Duration = (defaultText: string, description: string) =>
  Type.Codec(Type.String({ pattern: DURATION, default: defaultText, description, valueName: '<duration>', errorMessage: 'is not a duration such as 2s, 500ms or 1m' }))
    .Decode((text) => parseSeconds(text))
    .Encode((seconds) => `${seconds}s`)

/** A whole number ≥ `minimum` (1 unless said). */
export const Count = (defaultValue: number, description: string, minimum = 1) =>
  Type.Integer({ default: defaultValue, minimum, description, valueName: '<n>', errorMessage: `is not a whole number ≥ ${minimum}` })

/** A whole number ≥ 1 that may be left out: the lesson decides (e.g. from another flag). */
export const OptionalCount = (description: string) =>
  Type.Optional(Type.Integer({ minimum: 1, description, valueName: '<n>', errorMessage: 'is not a whole number ≥ 1' }))

/** Requests per second, or "max" (as fast as answers come) → undefined. */
export const Rate = (defaultText: string, description: string) =>
  Type.Codec(Type.String({ pattern: '^(max|[1-9][0-9]*)$', default: defaultText, description, valueName: '<n>', errorMessage: 'is not a whole number ≥ 1 or "max"' }))
    .Decode((text): number | undefined => (text === 'max' ? undefined : Number(text)))
    .Encode((rate) => (rate === undefined ? 'max' : String(rate)))

/** A request mix, "root:25,kv-get:25,kv-set:25,incr:25" (the k6 scripts' format). */
export const MixOption = (defaultText: string, description: string) =>
  Type.Codec(Type.String({ default: defaultText, description, valueName: '<weights>' }))
    .Decode((text) => parseMix(text))
    .Encode((mix) => `root:${mix.root},kv-get:${mix.kvGet},kv-set:${mix.kvSet},incr:${mix.incr}`)

/** A signal name the OS knows (SIGKILL, SIGTERM...), not a number or a typo. */
export const SignalName = (defaultText: NodeJS.Signals, description: string) =>
  Type.Codec(Type.String({ pattern: '^SIG[A-Z0-9]+$', default: defaultText, description, valueName: '<signal>', errorMessage: 'is not a signal name such as SIGKILL or SIGTERM' }))
    .Decode((text) => {
      if (!(text in constants.signals)) throw new Error(`"${text}" is not a signal name such as SIGKILL or SIGTERM`)
      return text as NodeJS.Signals
    })
    .Encode((signal) => signal)

/** One of a few words: `--store redis|memory`. */
export const Choice = <const T extends string>(choices: readonly [T, ...T[]], defaultValue: T, description: string) =>
  Type.Enum([...choices], { default: defaultValue, description })

/** An on/off switch: `--hard` when it is off by default, `--no-retry` when it is on (then the description says what `--no-…` does). */
export const Switch = (defaultValue: boolean, description: string) => Type.Boolean({ default: defaultValue, description })

/** Free text (a path, a URL). */
export const Text = (defaultValue: string, description: string, valueName = '<text>') =>
  Type.String({ default: defaultValue, description, minLength: 1, valueName })

/** A comma-separated list that may be left out → string[]. */
export const OptionalList = (description: string, valueName = '<items>') =>
  Type.Optional(Type.Codec(Type.String({ description, valueName, minLength: 1 }))
    .Decode((text) => text.split(',').map((s) => s.trim()).filter(Boolean))
    .Encode((items) => items.join(',')))

/** Positive numbers in ascending order, "0.5,1,1.5,2" (multiples of a measured capacity) → number[]. */
export const Multiples = (defaultText: string, description: string) =>
  Type.Codec(Type.String({ pattern: '^[0-9]+(\\.[0-9]+)?(,[0-9]+(\\.[0-9]+)?)*$', default: defaultText, description, valueName: '<list>', errorMessage: 'is not a list of numbers such as 0.5,1,1.5,2' }))
    .Decode((text) => {
      const values = text.split(',').map(Number)
      if (values.some((v) => !(v > 0))) throw new Error(`"${text}": every multiple must be above zero`)
      if (values.some((v, i) => i > 0 && v <= values[i - 1]!)) throw new Error(`"${text}": the multiples must go up`)
      return values
    })
    .Encode((values) => values.join(','))
