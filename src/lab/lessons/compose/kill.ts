import { composeKillFault } from '../../drills/compose-kill.js'
import { Duration } from '../options.js'
import { defineComposeDrill } from './drill.js'

/** An instance SIGKILLed inside the api container under load: pm2-runtime restarts it, no client error. */
export const composeKillLesson = defineComposeDrill({
  name: 'kill',
  description: 'SIGKILL a random PM2 instance inside the api container under load: no client error, back within the bound',
  options: {
    readyWithin: Duration('5s', 'the verdict\'s bound on the instance\'s time to serve again (pm2-runtime restarts it)')
  },
  fault: (target, o) => composeKillFault(target, { readyWithinMs: o.readyWithin * 1000 }),
  headline: (result) => `${result.load.errors.total} client errors, back in ${result.recoveries?.[0]?.readyAfterMs ?? 'never'} ms, audit ${result.audit.acknowledged}/${result.audit.failed}/${result.audit.indeterminate}`
})
