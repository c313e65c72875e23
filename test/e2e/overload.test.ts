import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { parseFlags } from '../../src/lab/lessons/flags.js'
import { overloadLesson } from '../../src/lab/lessons/overload.js'
import { runInLab } from '../../src/lab/lessons/run-lesson.js'
import { OverloadResultSchema, problemsOf, type OverloadResult } from '../../src/lab/results.js'
import { runMeta } from '../../src/lab/run.js'
import { useStack } from '../../src/lab/stack/running-stack.js'
import { startTestStack } from '../stack-helper.js'

// drill overload against a real stack, shorter still than its lab run (two levels,
// 2 s each: the test's wall time), through the lab's own path: the capacity measured, each level offered,
// nginx's log read. On a busy machine the timing targets (goodput, p99s) move with
// the neighbours; asserted are the result's shape, the accounting of every
// request, and what does not depend on timing: with shedding on, nginx does not
// retry refusals (tries per request stays at 1).

t.test('drill overload, short version, on one stack', async (t) => {
  const began = performance.now()
  const test = await startTestStack(t, { accessLog: true })
  const stackUpS = (performance.now() - began) / 1000
  const said: string[] = []
  const say = (line: string) => { said.push(line) }
  const stack = await useStack({}, say, test.settings.dir)
  t.teardown(() => stack.release())
  const dir = mkdtempSync(join(tmpdir(), 'sl-overload-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))

  const options = parseFlags(overloadLesson.options, { levels: '0.5,2', duration: '2s', capacityDuration: '1s' })
  const drillBegan = performance.now()
  const headline = await runInLab(overloadLesson, options, { meta: await runMeta(dir), dir, io: { say } }, stack)
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

  const row = (prefix: string) => result.verdict.checks.find((c) => c.name.startsWith(prefix))
  for (const prefix of ['goodput at 2×', 'p99 of answered requests at 2×', 'shed answers at 2×', 'upstream tries per request at 2×']) t.ok(row(prefix), `verdict row: ${prefix}`)
  t.ok(row('upstream tries per request at 2×')!.pass, `refusals are not retried: ${row('upstream tries per request at 2×')!.actual}`)
  t.ok(result.verdict.checks.filter((c) => c.name.startsWith('every request accounted for')).every((c) => c.pass), 'the accounting rows pass')
})
