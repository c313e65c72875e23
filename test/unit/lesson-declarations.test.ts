// What each lesson declares beside its run — result file, stack changes, intro,
// lab steps, title and headline — for its defaults and for every run `npm run lab`
// makes of it, without running anything: the summary and the result files of a
// lab run depend on these alone.
import t from 'tap'
import { parseFlags } from '../../src/lab/lessons/flags.js'
import { LESSONS } from '../../src/lab/lessons/index.js'
import type { AnyLesson } from '../../src/lab/lessons/lesson.js'
import type { AnyResult } from '../../src/lab/results.js'
import { overloadResult } from '../fixtures/overload-run.js'
import { fixtureFiles } from '../fixtures/report-run.js'

/** A finished result of the lesson's kind, from the report's fixture run. */
function resultFor (lesson: AnyLesson): AnyResult {
  if (lesson.name === 'overload') return overloadResult(true)
  const files = fixtureFiles()
  const byName: Record<string, string> = { load: 'load.json', 'compose-load': 'load.json', check: 'check-redis.json', 'compose-check': 'check-redis.json', bench: 'bench.json', 'rate-limit': 'rate-limit.json' }
  return files[byName[lesson.name] ?? 'kill.json'] as AnyResult
}

for (const lesson of LESSONS) {
  t.test(`${lesson.command.join(' ')}: what it declares beside its run`, async (t) => {
    const runs = [{}, ...(lesson.lab ?? [])]
    const files = new Set<string>()
    for (const flags of runs) {
      const options = parseFlags(lesson.options, flags)
      const file = lesson.resultFile(options)
      t.match(file, /^[a-z0-9-]+\.json$/, `result file ${file}`)
      files.add(file)
      t.equal(lesson.invalid?.(options), undefined, 'its own defaults and lab runs are valid')
      const intro = lesson.intro?.(options)
      t.ok(intro === undefined || intro.length > 0, 'an intro, when any, says something')
      if (lesson.usesStack === true) t.type(lesson.stack?.(options) ?? {}, 'object')
      if (lesson.step !== undefined) t.match(lesson.step(options), /\S/, 'a lab step name')
    }
    t.ok(files.size >= 1)
    const result = resultFor(lesson)
    t.match(lesson.title(result), /\S/, 'a title for the verdict table')
    const headline = lesson.headline(result)
    t.match(headline, { status: /^(PASS|FAIL|done)$/, text: /\S/ }, `headline: ${headline.status} ${headline.text}`)
    if ('verdict' in result && headline.status !== 'done') t.equal(headline.status, result.verdict.pass ? 'PASS' : 'FAIL', 'the status is the verdict\'s')
  })
}

t.test('bench: the headline counts the targets judged here, and shows every one', async (t) => {
  const bench = LESSONS.find((l) => l.name === 'bench')!
  const result = fixtureFiles()['bench.json'] as AnyResult & { targets: Array<{ met: boolean | null }> }
  const judged = result.targets.filter((target) => target.met !== null)
  t.ok(judged.length < result.targets.length, 'the fixture has a target that is only reported')
  const { text } = bench.headline(result)
  t.match(text, `targets met ${judged.filter((target) => target.met).length} of ${judged.length}:`)
  t.equal(text.split('; ').length - 1, result.targets.length, 'every target shown, with its value and goal')
})
