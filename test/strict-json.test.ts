import t from 'tap'
import { checkJson } from '../src/lib/strict-json.js'

// The one-pass check behind the JSON body parser (test/json-body.test.ts has the routes).
const bounds = { maxDepth: 3, maxElements: 10 }
const refusal = (text: string) => {
  try {
    checkJson(text, bounds)
    return 'accepted'
  } catch (err) {
    return (err as { code: string }).code
  }
}

t.test('what it refuses, and what it lets through', async (t) => {
  const cases: Array<[string, string]> = [
    ['{"a":1,"b":{"a":2}}', 'accepted'],
    ['{"a":1,"a":2}', 'SL_DUPLICATE_KEY'],
    ['{"a\\"b":1,"a\\u0022b":2}', 'SL_DUPLICATE_KEY'],
    ['[{"a":1},{"a":1}]', 'accepted'],
    ['{"a":{},"b":{}, "c" : { "a" : [] } }', 'accepted'],
    ['{"s":"a string with \\"quotes\\", commas, {braces} and [brackets]"}', 'accepted'],
    ['{"s":"ends with a backslash \\\\"}', 'accepted'],
    ['[1,2,3,4,5,6,7,8,9]', 'accepted'],
    ['[1,2,3,4,5,6,7,8,9,10]', 'SL_TOO_MANY_ELEMENTS'],
    ['[[[[]]]]', 'accepted'],
    ['[[[[[]]]]]', 'SL_VALUE_TOO_DEEP'],
    ['[true,false,null]', 'accepted'],
    ['[123456789012345, -123456789012345, 0, -0, 1.5, 2e10, 1E-5]', 'accepted'],
    ['[1234567890123456789]', 'SL_INEXACT_NUMBER'],
    ['[1e400]', 'SL_INEXACT_NUMBER'],
    ['[-1e-400]', 'SL_INEXACT_NUMBER'],
    ['[0.000001000]', 'accepted'],
    // Not JSON: left to JSON.parse to say so.
    ['{"a":1,"b"', 'accepted'],
    ['[1.2.3]', 'accepted'],
    ['[-]', 'accepted'],
    ['{"unterminated', 'accepted'],
    ['{"bad escape \\x":1,"bad escape \\x":2}', 'accepted'],
    ['[@]', 'accepted']
  ]
  for (const [text, expected] of cases) t.equal(refusal(text), expected, text)
})

t.test('long keys and numbers are shortened in messages', async (t) => {
  const key = 'k'.repeat(500)
  t.throws(() => checkJson(`{"${key}":1,"${key}":2}`, bounds), { message: /^Duplicate key "k{61}\.\.\."/ })
  const digits = '9'.repeat(400)
  t.throws(() => checkJson(`[${digits}]`, bounds), { message: /^Number 9{61}\.\.\. cannot be stored exactly: it would read back as null/ })
})
