import { withApiContainers } from '../../containers/compose-target.js'
import { NGINX_CONNECT_TIMEOUT_MS, NGINX_TRIES, partitionFault } from '../../drills/partition.js'
import { Count, Duration } from '../options.js'
import { defineComposeDrill } from './drill.js'
import { measured } from '../../verdict.js'

/** An api container's cable pulled under load (docker network disconnect), then put back. */
export const composePartitionLesson = defineComposeDrill({
  name: 'partition',
  description: 'docker network disconnect of an api container under load, then connect: a host that vanishes without a refused connect',
  options: {
    containers: Count(2, 'api containers during the drill (scaled out for it and back afterwards); with 1 there is none to serve meanwhile'),
    down: Duration('5s', 'how long the container stays cut off'),
    p99Within: Duration('2s', `the verdict's bound on the load's p99 (nginx's connect timeout, ${NGINX_CONNECT_TIMEOUT_MS} ms, plus a margin; with one container: the failures', ${NGINX_TRIES} tries of it)`),
    recoverWithin: Duration('5s', 'the verdict\'s bound on the container answering again after the reconnect')
  },
  // The cable of the last container: scaling back removes it, the original is left untouched.
  around: (target, o, io, drill) => withApiContainers(target, o.containers, io.say, drill),
  fault: (target, o, { containers }) => partitionFault(target, {
    container: containers.at(-1)!,
    containers: containers.length,
    downSeconds: o.down,
    p99WithinMs: (o.containers < 2 ? NGINX_TRIES * NGINX_CONNECT_TIMEOUT_MS : 0) + o.p99Within * 1000,
    recoverWithinMs: o.recoverWithin * 1000
  }),
  headline: (result) => {
    const actual = (prefix: string) => measured(result.verdict, prefix)
    return `${result.load.errors.total} client errors, p99 ${result.load.latencyMs.p99} ms, back ${actual('recovery')} after the reconnect`
  }
})
