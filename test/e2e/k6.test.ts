import { execFile } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { findBinary } from '../../src/lab/system/binaries.js'
import { up } from '../../src/lab/stack/stack.js'
import { startTestStack } from '../stack-helper.js'

// The k6 scripts against a real stack, when a k6 binary is on PATH. k6 is not
// installable on the machine this lab was built on: there these tests skip,
// saying so; the scripts are type-checked and structure-tested elsewhere.

const run = promisify(execFile)
const k6 = findBinary('k6')

async function k6Run (script: string, baseUrl: string, env: Record<string, string>): Promise<number> {
  const summaryDir = mkdtempSync(join(tmpdir(), 'sl-k6-'))
  try {
    await run(k6!, ['run', '--quiet', `k6/${script}`], {
      env: { ...process.env, BASE_URL: baseUrl, SUMMARY_DIR: summaryDir, ...env },
      maxBuffer: 64 * 1024 * 1024
    })
    return 0
  } catch (err) {
    return (err as { code?: number }).code ?? -1
  }
}

t.test('k6 load.js and consistency.js against the local stack', { skip: k6 === null ? 'k6 not installed' : false }, async (t) => {
  const stack = await startTestStack(t)

  t.test('load.js (500 requests) passes its thresholds on Redis', async (t) => {
    t.equal(await k6Run('load.js', stack.base, { ITERATIONS: '500' }), 0)
  })

  t.test('consistency.js passes on Redis', async (t) => {
    t.equal(await k6Run('consistency.js', stack.base, { ITERATIONS: '500', VUS: '20' }), 0)
  })

  t.test('consistency.js fails on the memory store (the lesson)', async (t) => {
    await up({ ...stack.settings, store: 'memory' })
    t.not(await k6Run('consistency.js', stack.base, { ITERATIONS: '500', VUS: '20' }), 0)
  })
})
