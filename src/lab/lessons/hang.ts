import { hangFault } from '../drills/hang.js'
import { defineDrill } from './drill.js'
import { Count, Duration, Switch } from './options.js'
import { measured } from '../verdict.js'

/** One instance frozen under load: a slow instance is worse than a dead one, unless the balancer gives up on it quickly. */
export const hangLesson = defineDrill({
  name: 'hang',
  description: 'freeze one instance (SIGSTOP) under load, thaw it (SIGCONT) or never: a gray failure',
  options: {
    for: Duration('6s', 'how long the instance stays frozen'),
    forever: Switch(false, 'never thaw it: something has to replace it'),
    detect: Switch(true, 'the "before" picture: nginx\'s old upstream settings (10 s read timeout, never out of rotation) and no watchdog'),
    duration: Duration('20s', 'how long the load runs (the freeze starts 2 s in)')
  },
  // The open model needs a socket per request in flight: requests stuck on the frozen
  // instance must not hold back the schedule of the others.
  load: { connections: Count(1024, 'sockets of the open-model load, at most') },
  model: 'open',
  fault: (stack, o) => hangFault(stack, { forSeconds: o.for, forever: o.forever, durationSeconds: o.duration }),
  // nginx's access log says when it gave up on the instance: on, whatever BENCH says.
  stack: (o) => ({ accessLog: true, ...(o.detect ? {} : { passiveHealth: false, watchdog: false }) }),
  invalid: (o) => {
    if (o.rate === undefined) return 'drill hang sends requests on a schedule: --rate needs a number'
    if (!o.forever && o.duration < 2 + o.for + 2) return `--duration must leave 2 s before and after the freeze (at least ${2 + o.for + 2}s)`
    if (o.forever && o.duration < 10) return '--forever needs --duration of at least 10s: the instance is replaced only after several seconds'
    return undefined
  },
  intro: (o) => (o.detect ? undefined : 'The "before" picture: nginx waits 10 s on a frozen instance and keeps sending it requests; no watchdog (expect this to fail).'),
  resultFile: (o) => `hang${o.forever ? '-forever' : ''}${o.detect ? '' : '-no-detect'}.json`,
  title: (result) => `drill ${result.drill}${result.options.for === 'forever' ? ' --forever' : ''}${result.options.passiveHealth === false ? ' --no-detect' : ''}`,
  headline: (result) => {
    const { p99, max } = result.load.latencyMs
    const forever = result.options.for === 'forever'
    return `${forever ? 'frozen for good' : `frozen ${String(result.options.for)}`}: ${result.load.errors.total} client errors, p99 ${p99.toFixed(1)} ms, max ${max.toFixed(0)} ms, detected ${measured(result.verdict, 'detected')}` +
      (forever ? `, replaced ${measured(result.verdict, 'replaced')}` : '')
  },
  step: (o) => `drill hang${o.forever ? ' --forever' : ''}${o.detect ? '' : ' --no-detect'}`,
  lab: [{ duration: '14s' }, { forever: true, duration: '18s' }]
})
