import { composeRedisFault } from '../../drills/compose-redis.js'
import { Duration } from '../options.js'
import { defineComposeDrill } from './drill.js'
import { measured } from '../../verdict.js'

/** `docker compose restart redis` under load: fast 503s, recovery by itself, the data kept (AOF on the volume). */
export const composeRedisLesson = defineComposeDrill({
  name: 'redis',
  description: 'docker compose restart redis under load: fast 503s, recovery by itself, acknowledged writes kept',
  options: {
    // A stopped container's address answers nothing: each instance waits its Redis command timeout (400 ms), and nginx tries four.
    failuresWithin: Duration('2s', 'the verdict\'s bound on the p99 of the failures (nginx tries 4 instances, each waiting at most its 400 ms Redis timeout)'),
    recoveryWithin: Duration('2s', 'the verdict\'s bound on the first store 2xx after Redis answers')
  },
  fault: (target, o) => composeRedisFault(target, { failureP99BoundMs: o.failuresWithin * 1000, recoveryBoundMs: o.recoveryWithin * 1000 }),
  headline: (result) => {
    const actual = (prefix: string) => measured(result.verdict, prefix)
    return `failures p99 ${actual('failures')}; back ${actual('recovery')} after Redis answered`
  }
})
