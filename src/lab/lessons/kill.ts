import { killFault } from '../drills/kill.js'
import { defineDrill } from './drill.js'
import { Duration, SignalName, Switch } from './options.js'

/** Workers killed under load: no client error, nothing lost or doubled. */
export const killLesson = defineDrill({
  name: 'kill',
  description: 'kill a random PM2 worker by PID every interval, under a steady mixed load',
  options: {
    every: Duration('2s', 'time between kills'),
    duration: Duration('30s', 'how long the load runs'),
    signal: SignalName('SIGKILL', 'signal to kill with'),
    retry: Switch(true, 'the "before" picture: nginx without non_idempotent, so POSTs to a dead worker are not retried'),
    readyWithin: Duration('1.5s', 'the verdict\'s bound on a killed worker\'s time to serve again')
  },
  fault: (stack, o) => killFault(stack, { everySeconds: o.every, durationSeconds: o.duration, signal: o.signal, readyWithinMs: o.readyWithin * 1000 }),
  stack: (o) => (o.retry ? {} : { retryNonIdempotent: false }),
  intro: (o) => (o.retry ? undefined : 'The "before" picture: nginx will not retry POSTs on another instance (expect this to fail).'),
  resultFile: (o) => (o.retry ? 'kill.json' : 'kill-no-retry.json'),
  headline: (result) => {
    const slowest = Math.max(0, ...(result.recoveries ?? []).map((r) => r.readyAfterMs ?? Infinity))
    return `${result.recoveries?.length ?? 0} kills, ${result.load.errors.total} client errors, slowest back in ${slowest} ms, audit ${result.audit.acknowledged}/${result.audit.failed}/${result.audit.indeterminate}`
  },
  lab: [{}]
})
