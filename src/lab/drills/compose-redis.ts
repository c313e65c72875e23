import { setTimeout as sleep } from 'node:timers/promises'
import { REDIS_SERVICE, type ComposeTarget } from '../containers/compose-target.js'
import { waitFor } from '../system/process.js'
import { isLossOrDoublingRule, storeOutage } from './redis.js'
import type { Fault } from './run-drill.js'

export interface ComposeRedisOptions {
  failureP99BoundMs: number
  recoveryBoundMs: number
}

/**
 * `docker compose restart redis` under the steady load: Redis gets SIGTERM
 * (writes its AOF, exits), its container starts again on the same volume. The
 * verdict is the redis drill's: fast failures, no hang, recovery by itself,
 * nothing acknowledged lost.
 */
export function composeRedisFault (target: ComposeTarget, options: ComposeRedisOptions): Fault {
  const outage = storeOutage({ failureP99BoundMs: options.failureP99BoundMs, recoveryBoundMs: options.recoveryBoundMs })
  const { project } = target
  return {
    drill: 'compose-redis',
    label: `compose restart redis (${target.name})`,
    durationSeconds: 60,
    endAfterTimelineSeconds: 2,
    options: { project: project.name },
    timeline: async ({ now, mark, io }) => {
      await sleep(2000)
      mark('redis-down', 'redis', 'docker compose restart redis')
      io.say(`  restart redis at ${(now() / 1000).toFixed(1)} s`)
      await project.restart(REDIS_SERVICE)
      // Up when it answers PONG to the password (REDISCLI_AUTH, the container's): not when its process started.
      const pong = () => project.exec(REDIS_SERVICE, ['redis-cli', 'ping']).then(({ stdout }) => stdout.trim() === 'PONG', () => false)
      await waitFor('redis to answer PONG', pong, 30_000, 50)
      outage.up(now())
      mark('redis-up', 'redis', 'answering PING')
      io.say(`  redis answers again at ${(now() / 1000).toFixed(1)} s`)
      // The load goes on for the recovery's bound: the first store 2xx must come within it.
      await sleep(options.recoveryBoundMs)
    },
    observe: outage.observe,
    judge: (_context, traffic) => outage.checks(traffic),
    auditInformational: (rule) => !isLossOrDoublingRule(rule)
  }
}
