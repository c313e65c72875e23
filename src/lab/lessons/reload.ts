import { reloadFault } from '../drills/reload.js'
import { defineDrill } from './drill.js'
import { Duration } from './options.js'

/** A rolling `pm2 reload` under load with zero client errors. */
export const reloadLesson = defineDrill({
  name: 'reload',
  description: 'rolling `pm2 reload` of every app, one at a time, under load',
  options: {
    duration: Duration('60s', 'the longest the load may run: from 2 s before the first reload to 2 s after the last')
  },
  fault: (stack, o) => reloadFault(stack, { durationSeconds: o.duration }),
  headline: (result) => `${result.load.errors.total} client errors over ${result.load.requests} requests`,
  lab: [{}]
})
