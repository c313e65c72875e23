import { abuseFault } from '../drills/abuse.js'
import { defineDrill } from './drill.js'
import { Count, Duration, Rate } from './options.js'
import { measured } from '../verdict.js'

/** One client against the stack: five attacks, each while the normal clients run; the edge, the store's bound and the service's own limits hold. */
export const abuseLesson = defineDrill({
  name: 'abuse',
  description: 'attack the stack from 127.0.0.2 and beyond (half-sent headers, a request flood, a write flood, many-small-objects bodies, the CPU route) while normal clients run',
  options: {
    phase: Duration('6s', 'how long each attack lasts (over nginx\'s 5 s header timeout: the half-open flood renews what it drops)'),
    halfOpen: Count(4000, 'connections with half a request header held at once (the first attack)'),
    clientRate: Count(200, 'the edge\'s requests per second per client address during the drill (the flood is 10× this)'),
    clientBurst: Count(100, 'the edge\'s burst per client address during the drill'),
    clientWork: Count(2, 'the edge\'s GET /work in flight per client address during the drill (0: the fleet\'s bound only)', 0),
    headroom: Count(16, 'MiB the write flood may add to what Redis holds before its bound refuses writes')
  },
  // The open model: latency from the schedule, so a stack the attacker starves shows it.
  // Below the edge's limit per address: the normal clients share 127.0.0.1's budget.
  load: { rate: Rate('100', 'requests per second of the normal clients (below --client-rate)'), connections: Count(256, 'sockets of the normal clients\' open-model load, at most') },
  model: 'open',
  fault: (stack, o) => abuseFault(stack, { phaseSeconds: o.phase, halfOpen: o.halfOpen, clientRate: o.clientRate, clientBurst: o.clientBurst, clientWork: o.clientWork, headroomBytes: o.headroom * 2 ** 20 }),
  stack: (o) => ({ clientRate: o.clientRate, clientBurst: o.clientBurst, clientWork: o.clientWork }),
  invalid: (o) => {
    if (o.rate === undefined) return 'drill abuse sends the normal load on a schedule: --rate needs a number'
    if (o.rate > o.clientRate / 2) return `--rate ${o.rate} must stay at most half of --client-rate ${o.clientRate}: the normal clients share one address's budget`
    return undefined
  },
  headline: (result) => {
    const failed = result.verdict.checks.filter((c) => !c.pass && !c.informational).length
    return `${(result.phases ?? []).length - 1} attacks, ${failed} verdict rows failed; flood refused ${measured(result.verdict, 'request-flood: refused').split(' (')[0]}, restarts ${measured(result.verdict, 'no instance restarted')}`
  }
})
