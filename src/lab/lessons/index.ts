import { abuseLesson } from './abuse.js'
import { benchLesson } from './bench.js'
import { checkLesson } from './check.js'
import { composeCheckLesson } from './compose/check.js'
import { composeKillLesson } from './compose/kill.js'
import { composeLoadLesson } from './compose/load.js'
import { composePartitionLesson } from './compose/partition.js'
import { composeRedisLesson } from './compose/redis.js'
import { failoverLesson } from './failover.js'
import { hangLesson } from './hang.js'
import { killLesson } from './kill.js'
import type { AnyLesson } from './lesson.js'
import { loadLesson } from './load.js'
import { overloadLesson } from './overload.js'
import { rateLimitLesson } from './rate-limit.js'
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
  hangLesson,
  overloadLesson,
  rateLimitLesson,
  abuseLesson,
  benchLesson,
  // On a compose stack (docker compose up): commands only, not in `npm run lab`.
  composeCheckLesson,
  composeLoadLesson,
  composeKillLesson,
  composeRedisLesson,
  composePartitionLesson
]
