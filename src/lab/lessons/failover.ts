import { failoverFault } from '../drills/failover.js'
import { defineDrill } from './drill.js'
import { Count, Duration, Switch } from './options.js'
import { measured } from '../verdict.js'

/** The primary of the replicated store killed (or paused) under load: the window, and what the failover lost. */
export const failoverLesson = defineDrill({
  name: 'failover',
  description: 'kill (or pause) the Redis primary under load: Sentinel promotes a replica; the window, and what the failover lost',
  options: {
    durable: Switch(false, 'durable mode: REDIS_DURABLE=1 on the instances and min-replicas-to-write 1 on the primary'),
    pause: Switch(false, 'SIGSTOP the primary for --pause-for, then SIGCONT, instead of SIGKILL'),
    pauseFor: Duration('4s', 'how long --pause keeps the primary frozen'),
    count: Count(5, 'failovers in one run, the topology whole again between them')
  },
  fault: (stack, o) => failoverFault(stack, { count: o.count, pause: o.pause, pauseSeconds: o.pauseFor }),
  // The drill needs the replicated store: the stack is brought to sentinel mode for the run and put back after.
  stack: (o) => ({ redisMode: 'sentinel', durable: o.durable, ...(o.durable ? { minReplicasToWrite: 1 } : {}) }),
  intro: (o) => (o.durable
    ? undefined
    : 'Default mode: replication is asynchronous, so what a failover loses is measured and reported, not judged (--durable judges it).'),
  resultFile: (o) => `failover${o.pause ? '-pause' : ''}${o.durable ? '-durable' : ''}.json`,
  title: (result) => `drill ${result.drill} (${String(result.options.fault)}${result.options.durable === true ? ', durable' : ''})`,
  headline: (result) => {
    const actual = (prefix: string) => measured(result.verdict, prefix)
    const first = (prefix: string) => actual(prefix).split(' (')[0]
    return `${result.faults?.length ?? 0} failover(s), first write back in ${first(`${result.options.fault === 'SIGKILL' ? 'kill' : 'pause'} →`)}; ` +
      `acknowledged lost ${first('acknowledged writes lost')}, replays applied again ${actual('idempotency records lost')}`
  },
  // One of each mode, short: behind `npm run lab -- --with failover` (each switches the lab's stack to sentinel mode and back).
  lab: [{ count: 1 }, { count: 1, pause: true, durable: true }],
  labOptIn: true,
  step: (o) => `failover ${o.pause ? 'pause' : 'kill'}${o.durable ? ' durable' : ''}`
})
