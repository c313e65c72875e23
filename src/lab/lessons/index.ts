import { benchLesson } from './bench.js'
import { checkLesson } from './check.js'
import { failoverLesson } from './failover.js'
import { killLesson } from './kill.js'
import type { AnyLesson } from './lesson.js'
import { loadLesson } from './load.js'
import { redisLesson } from './redis.js'
import { reloadLesson } from './reload.js'

/**
 * Every lesson, in the order of the journey: `scale-lab`'s commands and
 * `npm run lab`'s steps are both made from this list.
 */
export const LESSONS: readonly AnyLesson[] = [
  loadLesson,
  checkLesson,
  killLesson,
  reloadLesson,
  redisLesson,
  failoverLesson,
  benchLesson
]
