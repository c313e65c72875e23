import { DuplicateKeyError, InexactNumberError, TooManyElementsError, ValueTooDeepError } from '../errors.js'

export interface JsonBounds {
  /** How many arrays/objects may nest below the top-level one. */
  maxDepth: number
  /** How many values the whole text may hold: objects, arrays, strings (keys aside), numbers, literals. */
  maxElements: number
}

/**
 * Reads a JSON text once, without building anything, and throws a 400 for what
 * JSON.parse would quietly change or what would cost far more than its bytes:
 * - a key given twice in one object (JSON.parse keeps the last: `{"by":1,"by":1000}`
 *   moved a counter by 1000), escaped spellings included (`"a"` and `"\u0061"`);
 * - a number a double cannot hold exactly (1e309 became null, a 30-digit integer
 *   lost its last digits, 2^53+1 became 2^53);
 * - more than `maxElements` values (21,800 empty objects fit in 64 KiB and cost an
 *   instance ~1 MB each to build), or nesting deeper than `maxDepth` (JSON.stringify
 *   recurses, and 64 KiB of "[[[[" overflowed its stack).
 * The syntax is JSON.parse's to judge, after this: on a text it does not understand,
 * this stops and lets JSON.parse say what is wrong.
 *
 * Hand-written rather than a library: lossless-json (the maintained parser that
 * refuses duplicate keys) builds the whole value first (so the element bound would
 * act too late), assigns a `__proto__` key through the prototype setter, and took
 * 2–35× JSON.parse's time on a 64 KiB body; this pass plus JSON.parse costs less.
 */
export function checkJson (text: string, bounds: JsonBounds): void {
  // One entry per open container: the keys seen so far (NO_KEYS until the first,
  // so empty objects cost no Set), or null for an array.
  const open: Array<Set<string> | null> = []
  let keys: Set<string> | null = null
  let elements = 0
  let expectKey = false
  let i = 0
  while (i < text.length) {
    const c = text.charCodeAt(i)
    switch (c) {
      case OPEN_BRACE:
      case OPEN_BRACKET:
        if (++elements > bounds.maxElements) throw new TooManyElementsError(bounds.maxElements)
        if (open.length > bounds.maxDepth) throw new ValueTooDeepError(bounds.maxDepth)
        keys = c === OPEN_BRACE ? NO_KEYS : null
        open.push(keys)
        expectKey = keys !== null
        i++
        break
      case CLOSE_BRACE:
      case CLOSE_BRACKET:
        open.pop()
        keys = open.length > 0 ? open[open.length - 1]! : null
        expectKey = false
        i++
        break
      case COMMA:
        expectKey = keys !== null
        i++
        break
      case QUOTE: {
        const end = endOfString(text, i)
        if (end < 0) return
        if (expectKey) {
          const key = stringAt(text, i, end)
          if (key === undefined) return
          if (keys === NO_KEYS) {
            keys = new Set([key])
            open[open.length - 1] = keys
          } else if (keys!.has(key)) {
            throw new DuplicateKeyError(quoted(key))
          } else {
            keys!.add(key)
          }
          expectKey = false
        } else if (++elements > bounds.maxElements) {
          throw new TooManyElementsError(bounds.maxElements)
        }
        i = end + 1
        break
      }
      case COLON:
      case SPACE:
      case TAB:
      case LF:
      case CR:
        i++
        break
      default: {
        if (++elements > bounds.maxElements) throw new TooManyElementsError(bounds.maxElements)
        const start = i
        if (c === MINUS || (c >= DIGIT_0 && c <= DIGIT_9)) {
          // A number: integers of up to 15 digits are exact in a double, with nothing to check.
          let digitsOnly = true
          for (i++; i < text.length; i++) {
            const d = text.charCodeAt(i)
            if (d >= DIGIT_0 && d <= DIGIT_9) continue
            if (d !== DOT && d !== LOWER_E && d !== UPPER_E && d !== PLUS && d !== MINUS) break
            digitsOnly = false
          }
          const length = i - start - (c === MINUS ? 1 : 0)
          if (digitsOnly && length > 0 && length <= 15) break
          const token = text.slice(start, i)
          if (!JSON_NUMBER.test(token)) return
          checkNumber(token)
        } else if (c >= LOWER_A && c <= LOWER_Z) {
          // true, false, null (or not JSON, which JSON.parse will say)
          while (i < text.length && text.charCodeAt(i) >= LOWER_A && text.charCodeAt(i) <= LOWER_Z) i++
        } else {
          return
        }
      }
    }
  }
}

/** Throws unless the double `token` becomes is the very number it spells. */
function checkNumber (token: string): void {
  const value = Number(token)
  if (Number.isFinite(value) && decimalOf(token) === decimalOf(String(value))) return
  // What JSON.stringify would write back: "null" for Infinity.
  throw new InexactNumberError(shorten(token), JSON.stringify(value))
}

/**
 * A number's decimal value in one spelling, "<sign><digits>e<exponent>" with no
 * leading or trailing zeros (0.<digits> × 10^exponent), so that 1.0, 100e-2 and 1
 * compare equal and 9007199254740993 differs from 9007199254740992. Zero is "0".
 */
function decimalOf (number: string): string {
  const [, sign = '', whole = '', fraction = '', exponent = '0'] = DECIMAL.exec(number) ?? []
  const digits = whole + fraction
  const first = digits.search(/[1-9]/)
  if (first < 0) return '0'
  const last = digits.search(/0*$/)
  return `${sign}${digits.slice(first, last)}e${Number(exponent) + whole.length - first}`
}

/** The index of the quote that closes the string opening at `start`, or -1. */
function endOfString (text: string, start: number): number {
  let at = start + 1
  for (;;) {
    at = text.indexOf('"', at)
    if (at < 0) return -1
    let backslashes = 0
    while (text.charCodeAt(at - 1 - backslashes) === BACKSLASH) backslashes++
    if (backslashes % 2 === 0) return at
    at++
  }
}

/** The string between two quotes, escapes decoded; undefined when it is not valid JSON. */
function stringAt (text: string, start: number, end: number): string | undefined {
  const raw = text.slice(start + 1, end)
  if (!raw.includes('\\')) return raw
  try {
    return JSON.parse(text.slice(start, end + 1)) as string
  } catch {
    return undefined
  }
}

/** Client input in a message: quoted, and short. */
function quoted (key: string): string {
  return JSON.stringify(shorten(key))
}

function shorten (text: string): string {
  return text.length > 64 ? `${text.slice(0, 61)}...` : text
}

const NO_KEYS = new Set<string>()
const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/
const DECIMAL = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/

const OPEN_BRACE = 0x7b
const CLOSE_BRACE = 0x7d
const OPEN_BRACKET = 0x5b
const CLOSE_BRACKET = 0x5d
const COMMA = 0x2c
const COLON = 0x3a
const QUOTE = 0x22
const BACKSLASH = 0x5c
const MINUS = 0x2d
const PLUS = 0x2b
const DOT = 0x2e
const UPPER_E = 0x45
const LOWER_E = 0x65
const DIGIT_0 = 0x30
const DIGIT_9 = 0x39
const LOWER_A = 0x61
const LOWER_Z = 0x7a
const SPACE = 0x20
const TAB = 0x09
const LF = 0x0a
const CR = 0x0d
