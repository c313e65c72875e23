import { Type } from 'typebox'
import { DrillLoadOptions } from '../drills/load-options.js'
import { redisFault } from '../drills/redis.js'
import { runDrill } from '../drills/run-drill.js'
import type { DrillResult } from '../results.js'
import { defineLesson } from './lesson.js'
import { Choice, Duration, Switch } from './options.js'

/** Redis stopped under load: fast 503s, recovery by itself, acknowledged writes kept. */
export const redisLesson = defineLesson({
  name: 'redis',
  command: ['drill', 'redis'],
  description: 'stop Redis under load, keep it down, restart it from its AOF',
  options: Type.Object({
    down: Duration('5s', 'how long Redis stays down'),
    hard: Switch(false, 'SIGKILL instead of SIGTERM (shows what appendfsync loses)'),
    fsync: Choice(['everysec', 'always'], 'everysec', 'appendfsync during the drill'),
    ...DrillLoadOptions
  }),
  usesStack: true,
  resultFile: (o) => (o.hard ? `redis-hard-${o.fsync}.json` : 'redis.json'),
  run: ({ stack, meta, io }, o) => runDrill(stack, redisFault(stack, { downSeconds: o.down, hard: o.hard, fsync: o.fsync }), o, meta, io),
  title: (result: DrillResult) => `drill ${result.drill}`,
  headline: (result: DrillResult) => {
    const actual = (prefix: string) => result.verdict.checks.find((c) => c.name.startsWith(prefix))?.actual ?? '?'
    return {
      status: result.verdict.pass ? 'PASS' : 'FAIL',
      text: `503s answered in p99 ${actual('failures')}; back ${actual('recovery')} after Redis answered`
    }
  },
  lab: [{}]
})
