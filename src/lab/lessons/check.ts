import { Type } from 'typebox'
import { consistencyCheck } from '../audit/consistency-check.js'
import type { CheckResult } from '../results.js'
import { defineLesson, type Headline } from './lesson.js'
import { Choice, Count } from './options.js'

/**
 * The memory store failing is the lesson, when it fails the way the lesson says:
 * reads miss their writes and each counter is split across the instances.
 */
function checkHeadline (result: CheckResult): Headline {
  const text = `${result.reads.missed} of ${result.reads.total} reads missed; counters ${result.counters.map((c) => `${c.final}/${c.acknowledged}`).join(', ')}`
  if (result.store === 'redis') return { status: result.verdict.pass ? 'PASS' : 'FAIL', text }
  const split = result.counters.length > 0 && result.counters.every((c) => Object.values(c.perInstance).filter((v) => v > 0).length > 1)
  const asTaught = !result.verdict.pass && result.reads.missed > 0 && split
  return { status: asTaught ? 'expected FAIL' : 'FAIL', text }
}

/** The seed's last step: values set, then got, through the balancer. */
export const checkLesson = defineLesson({
  name: 'check',
  command: ['check'],
  description: 'the seed\'s last step: write unique keys and read them back through nginx, count concurrently',
  options: Type.Object({
    store: Choice(['redis', 'memory'], 'redis', 'the store to check'),
    keys: Count(2000, 'unique keys written and read back'),
    concurrency: Count(50, 'concurrent connections')
  }),
  usesStack: true,
  stack: (o) => ({ store: o.store }),
  resultFile: (o) => `check-${o.store}.json`,
  run: ({ stack, meta, io }, o) => consistencyCheck(stack, o, meta, io),
  title: (result: CheckResult) => `check (${result.store})`,
  headline: checkHeadline,
  // The lesson first (the memory store fails), then the fix.
  lab: [{ store: 'memory' }, { store: 'redis' }],
  step: (o) => `check ${o.store}`
})
