import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { hangFault } from '../../src/lab/drills/hang.js'
import { parseMix } from '../../src/lab/drills/mix.js'
import { runDrill } from '../../src/lab/drills/run-drill.js'
import { parseFlags } from '../../src/lab/lessons/flags.js'
import { overloadLesson } from '../../src/lab/lessons/overload.js'
import { runInLab } from '../../src/lab/lessons/run-lesson.js'
import { OverloadResultSchema, problemsOf, type OverloadResult, type Verdict } from '../../src/lab/results.js'
import { runMeta } from '../../src/lab/run.js'
import { isReady } from '../../src/lab/stack/probe.js'
import { useStack } from '../../src/lab/stack/running-stack.js'
import { apiPortsOf, appNames } from '../../src/lab/stack/settings.js'
import { waitFor } from '../../src/lab/system/process.js'
import { startTestStack } from '../stack-helper.js'

// The gray failures of issue 12, short versions against one real stack with nginx's
// access log on (both drills read it): drill overload, then drill hang (a pause nginx
// routes around, and a freeze for good the liveness watchdog replaces: last, since it
// leaves a restarted instance behind). One stack for both: bringing one up and down
// costs ~20 s on a busy machine. Time bounds are loosened to what a busy machine holds;
// the mechanisms and the accounting are what is asserted.

const row = (verdict: Verdict, prefix: string) => {
  const found = verdict.checks.find((c) => c.name.startsWith(prefix))
  if (!found) throw new Error(`no verdict row "${prefix}" in ${verdict.checks.map((c) => c.name).join(' | ')}`)
  return found
}

const hangLoad = { mix: parseMix('root:25,kv-get:25,kv-set:25,incr:25'), connections: 512, rate: 300, model: 'open' as const }
const hangBounds = { p99Ms: 10_000, maxMs: 15_000, detectedWithinMs: 3000, replacedWithinMs: 23_000 }

t.test('gray failures against one stack', async (t) => {
  const began = performance.now()
  const test = await startTestStack(t, { accessLog: true })
  const stackUpS = (performance.now() - began) / 1000
  const said: string[] = []
  const io = { say: (line: string) => { said.push(line) } }
  const stack = await useStack({ accessLog: true }, io.say, test.settings.dir)
  t.teardown(() => stack.release())
  const dir = mkdtempSync(join(tmpdir(), 'sl-gray-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const meta = await runMeta(dir)

  // Shorter still than its lab run (two levels, 2 s each: the test's wall time), through the
  // lab's own path: the capacity measured, each level offered, nginx's log read. On a busy
  // machine the timing targets (goodput, p99s) move with the neighbours; asserted are the
  // result's shape, the accounting of every request, and what does not depend on timing:
  // with shedding on, nginx does not retry refusals (tries per request stays at 1).
  t.test('drill overload, short version', async (t) => {
    const options = parseFlags(overloadLesson.options, { levels: '0.5,2', duration: '2s', capacityDuration: '1s' })
    const drillBegan = performance.now()
    const headline = await runInLab(overloadLesson, options, { meta, dir, io }, stack)
    t.comment(said.find((line) => line.includes('warm-up rounds')) ?? 'no warm-up line')
    t.comment(`stack up ${stackUpS.toFixed(1)} s, the drill ${((performance.now() - drillBegan) / 1000).toFixed(1)} s`)
    const data: unknown = JSON.parse(readFileSync(join(dir, 'overload.json'), 'utf8'))
    t.strictSame(problemsOf(OverloadResultSchema, data), [], 'the result fits its contract')
    const result = data as OverloadResult
    t.comment(`${headline.status}: ${headline.text}`)
    t.match(headline.status, /^(PASS|FAIL)$/)

    t.ok(result.capacity.goodputRps > 0, `capacity measured: ${result.capacity.goodputRps} req/s`)
    t.match(result.options, { path: '/work?ms=5', shed: true, retryShed: false, timeoutMs: 2000 })
    t.strictSame(result.levels.map((l) => l.multiple), options.levels, 'every level, in order')
    t.strictSame(result.levels.map((l) => l.offeredRps), [...result.levels.map((l) => l.offeredRps)].sort((a, b) => a - b), 'offered rates go up')
    for (const level of result.levels) {
      t.equal(level.goodput + level.shed + level.failed, level.offered, `${level.multiple}×: every request served, shed or failed, once`)
      t.ok(Math.abs(level.goodputRps + level.shedRps + level.failedRps - level.offered / level.durationSeconds) <= 0.3, `${level.multiple}×: the rates add up within rounding`)
      t.ok(level.loggedRequests > 0 && level.triesPerRequest !== null && level.triesPerRequest >= 1, `${level.multiple}×: tries per request measured (${level.triesPerRequest} over ${level.loggedRequests})`)
    }

    const overloadRow = (prefix: string) => result.verdict.checks.find((c) => c.name.startsWith(prefix))
    for (const prefix of ['goodput at 2×', 'p99 of answered requests at 2×', 'shed answers at 2×', 'upstream tries per request at 2×']) t.ok(overloadRow(prefix), `verdict row: ${prefix}`)
    t.ok(overloadRow('upstream tries per request at 2×')!.pass, `refusals are not retried: ${overloadRow('upstream tries per request at 2×')!.actual}`)
    t.ok(result.verdict.checks.filter((c) => c.name.startsWith('every request accounted for')).every((c) => c.pass), 'the accounting rows pass')
  })

  t.test('drill hang, a 3 s freeze: detected by nginx, thawed, no client error, nothing restarted', async (t) => {
    const saidBefore = said.length
    const result = await runDrill(stack, hangFault(stack, { forSeconds: 3, forever: false, durationSeconds: 8, bounds: hangBounds }), hangLoad, meta, io)
    // What a client error was, should one happen (CI saw 3 once, on a slow machine, with no way to tell their kind).
    t.comment(`errors: ${JSON.stringify(result.load.errors)}; events: ${JSON.stringify(result.events)}`)
    t.ok(result.verdict.pass, JSON.stringify(result.verdict.checks.filter((c) => !c.pass)))
    t.equal(row(result.verdict, 'client-visible errors on GETs').actual, '0')
    t.equal(row(result.verdict, 'client-visible errors on POSTs').actual, '0')
    t.ok(row(result.verdict, 'detected').pass, row(result.verdict, 'detected').actual)
    t.ok(row(result.verdict, 'a pause is ridden out').pass)
    t.strictSame(result.events.map((e) => e.type).filter((type) => ['freeze', 'detected', 'thaw'].includes(type)), ['freeze', 'detected', 'thaw'])
    t.ok(row(result.verdict, 'strict').pass, 'every write exactly once')
    t.ok(said.slice(saidBefore).some((line) => line.startsWith('Warm-up:')), 'an unmeasured warm-up ran first')
    // 8 s of load and 1 s of drain at 300 req/s; the warm-up's 6 s + 1 s would add 2,100.
    t.ok(result.load.requests <= hangLoad.rate * 9 * 1.05, `the warm-up's requests are not the run's (${result.load.requests})`)
  })

  // Its verdict's time bounds (replaced within 15 s, one paid timeout per fail_timeout)
  // need a quiet machine: node alone took 9 s to start here at a load average of 20.
  // Asserted: nginx detected the frozen instance, the watchdog killed it, PM2 restarted
  // that one only, and the instance serves again. How soon nginx detected it is the 3 s
  // freeze's assertion above. Here CI read 3,581, 3,667 and 3,987 ms in 3 of 8 runs: the
  // drill counted only requests sent after the freeze, not the one already on the
  // instance whose timeout took it out (frozen-tries.ts, since fixed); the events are printed.
  t.test('drill hang, frozen for good: the watchdog kills it and PM2 replaces it', async (t) => {
    const result = await runDrill(stack, hangFault(stack, { forSeconds: 0, forever: true, durationSeconds: 20, bounds: hangBounds }), hangLoad, meta, io)
    t.comment(JSON.stringify(result.verdict.checks.filter((c) => !c.pass)))
    t.comment(result.events.map((e) => `${e.t.toFixed(2)} s ${e.type} ${e.target ?? ''} ${e.detail ?? ''}`).join(' | '))
    const frozen = result.events.find((e) => e.type === 'freeze')!.target!
    t.ok(result.events.some((e) => e.type === 'watchdog-kill' && e.target === frozen), 'the watchdog killed the frozen instance')
    t.strictSame(Object.entries(result.restarts!).filter(([, n]) => n > 0).map(([name]) => name), [frozen], 'PM2 restarted that one only')
    const port = apiPortsOf(stack.settings)[appNames(stack.settings).indexOf(frozen)]!
    await waitFor(`${frozen} to serve again`, () => isReady(port), 60_000, 200)
    t.match(row(result.verdict, 'detected').actual, /^\d+ ms$/, `nginx detected it: ${row(result.verdict, 'detected').actual}`)
  })
})
