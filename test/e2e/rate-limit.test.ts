import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { parseFlags } from '../../src/lab/lessons/flags.js'
import { rateLimitLesson } from '../../src/lab/lessons/rate-limit.js'
import { problemsOf, RateLimitResultSchema } from '../../src/lab/results.js'
import { runMeta } from '../../src/lab/run.js'
import { localStackTarget, type RunningStack } from '../../src/lab/stack/running-stack.js'
import { readState } from '../../src/lab/stack/state.js'
import { startTestStack } from '../stack-helper.js'

// The lesson's short run against a real stack (nginx → 4 instances, Redis): one
// client over its limit, per-instance store then shared. Asserted: the result's
// shape, every verdict row, and the direction (instance > shared); the ±25% and
// ±5% bounds are the verdict's, printed when they miss on a busy machine.

t.test('drill rate-limit: the instance store admits more than the shared one, and the stack is put back', async (t) => {
  const options = parseFlags(rateLimitLesson.options, { windows: 3 })
  // Up with the lesson's changes already, as the lab's stack would be once changed.
  const test = await startTestStack(t, rateLimitLesson.stack!(options))
  const stack: RunningStack = { ...localStackTarget(test.settings), settings: test.settings, state: test.state, release: async () => {} }
  const dir = mkdtempSync(join(tmpdir(), 'sl-rate-limit-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const lines: string[] = []

  const result = await rateLimitLesson.run({ stack, meta: await runMeta(dir), dir, io: { say: (line) => lines.push(line) } }, options)

  t.strictSame(problemsOf(RateLimitResultSchema, result), [], 'the result fits its contract')
  t.strictSame(result.phases.map((p) => p.store), ['instance', 'shared'])
  t.match(result.options, { limit: 20, windowMs: 1000, over: 10, windows: 3, instances: 4 })
  t.strictSame(result.verdict.checks.map((c) => c.name), [
    'RATE_LIMIT_STORE=instance: admitted ÷ configured (4 instances)',
    'RATE_LIMIT_STORE=shared: admitted ÷ configured',
    'each instance counting alone admits more than the shared budget',
    'the client kept well over N × its limit (sent ÷ seconds)',
    '429s from the edge (nginx) instead of an instance',
    'answers other than 2xx and 429 (errors, timeouts)'
  ])
  t.comment(result.verdict.checks.map((c) => `${c.pass ? 'ok  ' : 'MISS'} ${c.name}: ${c.actual} (expected ${c.expected})`).join('\n'))
  for (const p of result.phases) t.comment(`${p.store}: sent ${p.sent} in ${p.load.durationSeconds} s, p99 ${p.load.latencyMs.p99} ms; windows ${p.windows}; 2xx ${JSON.stringify(p.admittedByInstance)}`)
  const [instance, shared] = result.phases
  t.ok(instance!.admittedPerSecond > shared!.admittedPerSecond, `instance ${instance!.admittedPerSecond}/s > shared ${shared!.admittedPerSecond}/s`)
  t.ok(instance!.ratio > 2, `each instance counting alone lets the client through more than twice (${instance!.ratio}×)`)
  t.ok(shared!.ratio < 1.5, `the shared budget holds it near its limit (${shared!.ratio}×)`)
  t.equal(Object.keys(instance!.admittedByInstance).length, 4, 'every instance admitted the client')
  t.ok(shared!.refused > shared!.admitted, 'the shared store refused most of the client')
  t.equal(instance!.refusedByEdge + shared!.refusedByEdge, 0, 'no 429 came from nginx: the edge\'s limit is lifted')
  for (const phase of result.phases) t.equal(phase.sent, phase.admitted + phase.refused + phase.refusedByEdge + phase.other, `${phase.store}: every request counted once`)
  t.ok(lines.some((l) => l.startsWith('RATE_LIMIT_STORE=shared')), 'progress says which store runs')
  t.match(readState(test.settings.dir)?.settings.rateLimit, { store: 'shared', max: 20 }, 'the instances run the shared store until the stack is released')
})
