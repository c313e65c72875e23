import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { hangFault } from '../../src/lab/drills/hang.js'
import { parseMix } from '../../src/lab/drills/mix.js'
import { runDrill } from '../../src/lab/drills/run-drill.js'
import type { Verdict } from '../../src/lab/results.js'
import { runMeta } from '../../src/lab/run.js'
import { useStack } from '../../src/lab/stack/running-stack.js'
import { startTestStack } from '../stack-helper.js'

// Short versions of drill hang against a real stack: a pause nginx routes around
// (detected on its first read timeout, thawed, nothing restarted), and a freeze
// for good that the liveness watchdog replaces. Time bounds are loosened to what
// a busy machine holds; the mechanisms are what is asserted.

const row = (verdict: Verdict, prefix: string) => {
  const found = verdict.checks.find((c) => c.name.startsWith(prefix))
  if (!found) throw new Error(`no verdict row "${prefix}" in ${verdict.checks.map((c) => c.name).join(' | ')}`)
  return found
}

const load = { mix: parseMix('root:25,kv-get:25,kv-set:25,incr:25'), connections: 512, rate: 300, model: 'open' as const }
const bounds = { p99Ms: 5000, maxMs: 10_000, detectedWithinMs: 3000, replacedWithinMs: 23_000 }

t.test('drill hang against one stack', async (t) => {
  const test = await startTestStack(t, { accessLog: true })
  const io = { say: () => {} }
  const stack = await useStack({ accessLog: true }, io.say, test.settings.dir)
  t.teardown(() => stack.release())
  const meta = await runMeta(mkdtempSync(join(tmpdir(), 'sl-hang-')))

  t.test('a 3 s freeze: detected by nginx, thawed, no client error, nothing restarted', async (t) => {
    const result = await runDrill(stack, hangFault(stack, { forSeconds: 3, forever: false, durationSeconds: 8, bounds }), load, meta, io)
    t.ok(result.verdict.pass, JSON.stringify(result.verdict.checks.filter((c) => !c.pass)))
    t.equal(row(result.verdict, 'client-visible errors on GETs').actual, '0')
    t.equal(row(result.verdict, 'client-visible errors on POSTs').actual, '0')
    t.ok(row(result.verdict, 'detected').pass, row(result.verdict, 'detected').actual)
    t.ok(row(result.verdict, 'a pause is ridden out').pass)
    t.strictSame(result.events.map((e) => e.type).filter((type) => ['freeze', 'detected', 'thaw'].includes(type)), ['freeze', 'detected', 'thaw'])
    t.ok(row(result.verdict, 'strict').pass, 'every write exactly once')
  })

  t.test('frozen for good: the watchdog kills it and PM2 replaces it', async (t) => {
    const result = await runDrill(stack, hangFault(stack, { forSeconds: 0, forever: true, durationSeconds: 25, bounds }), load, meta, io)
    t.ok(result.verdict.pass, JSON.stringify(result.verdict.checks.filter((c) => !c.pass)))
    t.ok(row(result.verdict, 'replaced').pass, row(result.verdict, 'replaced').actual)
    t.ok(result.events.some((e) => e.type === 'watchdog-kill'), 'the watchdog killed it')
    t.ok(result.events.some((e) => e.type === 'ready'), 'a new process answered on its port')
    t.equal(Object.values(result.restarts!).reduce((a, b) => a + b, 0), 1, 'exactly one instance restarted')
  })
})
