import { Type } from 'typebox'
import { consistencyCheck } from '../../audit/consistency-check.js'
import type { CheckResult } from '../../results.js'
import { defineLesson } from '../lesson.js'
import { Count } from '../options.js'
import { ComposeTargetOptions } from './target-options.js'

/** The consistency check on the compose stack: through its nginx, each counter read from every instance inside the api container. */
export const composeCheckLesson = defineLesson({
  name: 'compose-check',
  command: ['compose', 'check'],
  description: 'the consistency check on the compose stack: unique keys written and read back through its nginx, shared counters',
  options: Type.Object({
    keys: Count(2000, 'unique keys written and read back'),
    concurrency: Count(50, 'concurrent connections'),
    ...ComposeTargetOptions
  }),
  usesStack: 'compose',
  resultFile: () => 'compose-check.json',
  run: ({ target, meta, io }, o) => consistencyCheck(target, o, meta, io),
  title: (result: CheckResult) => `compose check (${result.store})`,
  headline: (result: CheckResult) => ({
    status: result.verdict.pass ? 'PASS' : 'FAIL',
    text: `${result.reads.missed} of ${result.reads.total} reads missed; counters ${result.counters.map((c) => `${c.final}/${c.acknowledged}`).join(', ')}`
  })
})
