import { Type } from 'typebox'
import { DrillLoadOptions } from '../drills/load-options.js'
import { killFault } from '../drills/kill.js'
import { runDrill } from '../drills/run-drill.js'
import type { DrillResult } from '../results.js'
import { defineLesson } from './lesson.js'
import { Duration, SignalName, Switch } from './options.js'

/** Workers killed under load: no client error, nothing lost or doubled. */
export const killLesson = defineLesson({
  name: 'kill',
  command: ['drill', 'kill'],
  description: 'kill a random PM2 worker by PID every interval, under a steady mixed load',
  options: Type.Object({
    every: Duration('2s', 'time between kills'),
    duration: Duration('30s', 'how long the load runs'),
    signal: SignalName('SIGKILL', 'signal to kill with'),
    retry: Switch(true, 'the "before" picture: nginx without non_idempotent, so POSTs to a dead worker are not retried'),
    readyWithin: Duration('1.5s', 'the verdict\'s bound on a killed worker\'s time to serve again'),
    ...DrillLoadOptions
  }),
  usesStack: true,
  stack: (o) => (o.retry ? {} : { retryNonIdempotent: false }),
  intro: (o) => (o.retry ? undefined : 'The "before" picture: nginx will not retry POSTs on another instance (expect this to fail).'),
  resultFile: (o) => (o.retry ? 'kill.json' : 'kill-no-retry.json'),
  run: ({ stack, meta, io }, o) => runDrill(stack, killFault(stack, {
    everySeconds: o.every, durationSeconds: o.duration, signal: o.signal, readyWithinMs: o.readyWithin * 1000
  }), o, meta, io),
  title: (result: DrillResult) => `drill ${result.drill}`,
  headline: (result: DrillResult) => {
    const slowest = Math.max(0, ...(result.recoveries ?? []).map((r) => r.readyAfterMs ?? Infinity))
    return {
      status: result.verdict.pass ? 'PASS' : 'FAIL',
      text: `${result.recoveries?.length ?? 0} kills, ${result.load.errors.total} client errors, slowest back in ${slowest} ms, audit ${result.audit.acknowledged}/${result.audit.failed}/${result.audit.indeterminate}`
    }
  },
  lab: [{}]
})
