import { Type } from 'typebox'
import { DrillLoadOptions } from '../drills/load-options.js'
import { reloadFault } from '../drills/reload.js'
import { runDrill } from '../drills/run-drill.js'
import type { DrillResult } from '../results.js'
import { defineLesson } from './lesson.js'
import { Duration } from './options.js'

/** A rolling `pm2 reload` under load with zero client errors. */
export const reloadLesson = defineLesson({
  name: 'reload',
  command: ['drill', 'reload'],
  description: 'rolling `pm2 reload` of every app, one at a time, under load',
  options: Type.Object({
    duration: Duration('60s', 'the longest the load may run: from 2 s before the first reload to 2 s after the last'),
    ...DrillLoadOptions
  }),
  usesStack: true,
  resultFile: () => 'reload.json',
  run: ({ stack, meta, io }, o) => runDrill(stack, reloadFault(stack, { durationSeconds: o.duration }), o, meta, io),
  title: (result: DrillResult) => `drill ${result.drill}`,
  headline: (result: DrillResult) => ({
    status: result.verdict.pass ? 'PASS' : 'FAIL',
    text: `${result.load.errors.total} client errors over ${result.load.requests} requests`
  }),
  lab: [{}]
})
