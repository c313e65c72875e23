import { redisFault } from '../drills/redis.js'
import { defineDrill } from './drill.js'
import { Choice, Duration, Switch } from './options.js'
import { measured } from '../verdict.js'

/** Redis stopped under load: fast 503s, recovery by itself, acknowledged writes kept. */
export const redisLesson = defineDrill({
  name: 'redis',
  description: 'stop Redis under load, keep it down, restart it from its AOF',
  options: {
    down: Duration('5s', 'how long Redis stays down'),
    hard: Switch(false, 'SIGKILL instead of SIGTERM (shows what appendfsync loses)'),
    fsync: Choice(['everysec', 'always'], 'everysec', 'appendfsync during the drill')
  },
  fault: (stack, o) => redisFault(stack, { downSeconds: o.down, hard: o.hard, fsync: o.fsync }),
  resultFile: (o) => (o.hard ? `redis-hard-${o.fsync}.json` : 'redis.json'),
  headline: (result) => {
    const actual = (prefix: string) => measured(result.verdict, prefix)
    return `503s answered in p99 ${actual('failures')}; back ${actual('recovery')} after Redis answered`
  },
  lab: [{}]
})
