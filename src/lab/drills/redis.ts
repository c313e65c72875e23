import { setTimeout as sleep } from 'node:timers/promises'
import { percentile } from '../stats.js'
import { withRedis } from '../system/redis-client.js'
import { stackRedisPassword, startStackRedis, stopStackRedis } from '../stack/parts/redis.js'
import { startReplicatedData, stopReplicatedData } from '../stack/parts/redis-ha.js'
import { REDIS_LOAD_WAIT_MS } from '../system/redis-server.js'
import type { RunningStack } from '../stack/running-stack.js'
import type { VerdictCheck } from '../results.js'
import type { Fault } from './run-drill.js'
import type { Traffic } from './traffic.js'

export interface RedisDrillOptions {
  downSeconds: number
  /** SIGKILL (no chance to fsync) instead of SIGTERM (Redis writes its AOF and exits). */
  hard: boolean
  /** appendfsync while the drill runs. */
  fsync: 'everysec' | 'always'
  /** The verdict's bounds (defaults: the targets below). */
  failureP99BoundMs?: number
  recoveryBoundMs?: number
}

/** The verdict's bounds: failures must be fast, recovery quick. */
export const FAILURE_P99_BOUND_MS = 200
export const RECOVERY_BOUND_MS = 1000

/**
 * Stop Redis under load, keep it down, restart it from the same AOF. Requests
 * that need the store must fail fast (no hang), the service must recover by
 * itself once Redis answers, and no acknowledged write may be lost on a SIGTERM.
 * With --hard, what is lost depends on appendfsync: the audit reports it.
 * In sentinel mode the whole store goes down: every data node (losing only the
 * primary is the failover drill); the Sentinels stay, and find no replica to promote.
 */
export function redisFault (stack: RunningStack, options: RedisDrillOptions): Fault {
  const { redisPort } = stack.settings
  const replicated = stack.settings.redisMode === 'sentinel'
  const dataPorts = replicated ? [redisPort, ...stack.settings.replicaPorts] : [redisPort]
  const signal = options.hard ? 'SIGKILL' : 'SIGTERM'
  const outage = storeOutage({ failureP99BoundMs: options.failureP99BoundMs ?? FAILURE_P99_BOUND_MS, recoveryBoundMs: options.recoveryBoundMs ?? RECOVERY_BOUND_MS })
  // A hard kill with everysec may lose up to a second of writes: that is what it shows, not a failure.
  const lossExpected = options.hard && options.fsync === 'everysec'

  return {
    drill: 'redis',
    label: `drill redis down ${options.downSeconds}s${options.hard ? ' (hard)' : ''}`,
    // The load goes on 6 s after Redis answers, however long its AOF took to load.
    durationSeconds: 2 + options.downSeconds + REDIS_LOAD_WAIT_MS / 1000 + 6,
    endAfterTimelineSeconds: 6,
    options: { down: `${options.downSeconds}s`, hard: options.hard, fsync: options.fsync },
    // (The restarted Redis reads the stack's policy from its redis.conf.)
    prepare: async () => {
      // (Every data node requires the stack's admin password, in either mode.)
      for (const port of dataPorts) await withRedis(port, (redis) => redis.config('SET', 'appendfsync', options.fsync), 1000, stackRedisPassword(stack.settings))
    },
    timeline: async ({ now, mark, io }) => {
      await sleep(2000)
      if (!replicated && stack.state.daemons.redis === undefined) throw new Error('the stack has no Redis PID recorded')
      const downAtMs = now()
      const what = replicated ? 'every data node' : 'redis'
      mark('redis-down', 'redis', `${what}: ${signal}, appendfsync ${options.fsync}`)
      io.say(`  ${what} down (${signal}) at ${(downAtMs / 1000).toFixed(1)} s`)
      const stopped = replicated ? await stopReplicatedData(stack.state, signal) : await stopStackRedis(stack.state, signal)
      await sleep(Math.max(0, options.downSeconds * 1000 - (now() - downAtMs)))
      // The same data folder and AOF: what was written before the stop is replayed.
      // Recorded before it answers: an interrupt while it boots still leaves the stack's state naming it.
      // Sentinel mode: the primary first (recovery counts from when it answers), its replicas after.
      const newPid = stopped === undefined ? await startStackRedis(stack.state) : await startReplicatedData(stack.state, stopped.slice(0, 1))
      outage.up(now())
      mark('redis-up', 'redis', `pid ${newPid}, answering PING`)
      io.say(`  redis up again (pid ${newPid}) at ${(now() / 1000).toFixed(1)} s`)
      if (stopped !== undefined && stopped.length > 1) {
        await startReplicatedData(stack.state, stopped.slice(1))
        mark('replicas-up', 'redis', `${stopped.slice(1).map((n) => n.name).join(', ')} answering PING`)
      }
    },
    observe: outage.observe,
    judge: (_context, traffic) => outage.checks(traffic),
    auditInformational: (rule) => !isLossOrDoublingRule(rule) || lossExpected,
    details: () => ({ faults: outage.instances() })
  }
}

/**
 * The audit rules on loss or doubling: what an outage is judged by (its failed
 * writes, the 503s, only inform). A key never read back counts with them: it may hide a loss.
 */
export function isLossOrDoublingRule (rule: string): boolean {
  return rule.startsWith('counters') || rule.startsWith('kv') || rule.startsWith('no double') || rule.startsWith('read-back')
}

/** What one instance showed once Redis answered again (ms after it answered). */
interface InstanceRecovery {
  /** Its first store 2xx to a request sent after Redis answered. */
  firstStoreOkAtMs: number | null
  /** Its 503s answered after Redis answered: the tail of the outage. */
  late503s: number
}

/**
 * What clients saw of a store outage, for the drills that stop Redis: failures
 * must be fast (no hang), and the service must recover by itself once Redis
 * answers (`up` says when): the first store 2xx to a request sent after it, and
 * every instance's first, so that one instance left behind (still reconnecting)
 * is not hidden by the three that are back.
 */
export function storeOutage (bounds: { failureP99BoundMs: number, recoveryBoundMs: number }): {
  up: (atMs: number) => void
  observe: NonNullable<Fault['observe']>
  checks: (traffic: Traffic) => VerdictCheck[]
  instances: () => Array<Record<string, string | number | null>>
} {
  let redisUpAtMs: number | null = null
  let firstStoreOkAtMs: number | null = null
  const byInstance = new Map<string, InstanceRecovery>()
  const recoveryOf = (name: string): InstanceRecovery => {
    const known = byInstance.get(name) ?? { firstStoreOkAtMs: null, late503s: 0 }
    byInstance.set(name, known)
    return known
  }
  const after = (atMs: number | null) => (atMs === null || redisUpAtMs === null ? null : Math.round(atMs - redisUpAtMs))
  return {
    up: (atMs) => { redisUpAtMs = atMs },
    observe: (answer, { mark }) => {
      if (redisUpAtMs === null || answer.operation === 'root' || answer.atMs < redisUpAtMs) return
      const instance = answer.instance === undefined ? undefined : recoveryOf(answer.instance)
      if (instance !== undefined && answer.status === 503) instance.late503s++
      if (answer.status < 200 || answer.status >= 300 || answer.atMs - answer.latencyMs < redisUpAtMs) return
      if (instance !== undefined) instance.firstStoreOkAtMs ??= answer.atMs
      if (firstStoreOkAtMs === null) {
        firstStoreOkAtMs = answer.atMs
        mark('first-2xx', 'store', `${after(answer.atMs)} ms after Redis answered`, answer.atMs)
      }
    },
    checks: (traffic) => {
      const failureP99 = percentile([...traffic.failureLatenciesMs].sort((a, b) => a - b), 99)
      // A hang shows as a client timeout, or as nginx's 504 when an instance never answered.
      const hangs = (traffic.summary.errors.byKind.timeout ?? 0) + (traffic.summary.errors.byKind['non2xx:504'] ?? 0)
      const recoveryMs = after(firstStoreOkAtMs)
      const seen = [...byInstance.entries()].sort(([a], [b]) => a.localeCompare(b))
      const behind = seen.filter(([, i]) => i.firstStoreOkAtMs === null)
      const slowest = seen.reduce<[string, number] | null>((worst, [name, i]) => {
        const ms = after(i.firstStoreOkAtMs)
        return ms !== null && (worst === null || ms > worst[1]) ? [name, ms] : worst
      }, null)
      const late503s = seen.reduce((sum, [, i]) => sum + i.late503s, 0)
      return [
        { name: 'failures answered fast (p99 of non-2xx)', expected: `≤ ${bounds.failureP99BoundMs} ms`, actual: `${failureP99.toFixed(1)} ms over ${traffic.failureLatenciesMs.length} failures`, pass: failureP99 <= bounds.failureP99BoundMs },
        { name: 'no request hangs (client timeouts, 504s)', expected: '0', actual: String(hangs), pass: hangs === 0 },
        { name: 'recovery: first store 2xx after Redis answers', expected: `≤ ${bounds.recoveryBoundMs} ms`, actual: recoveryMs === null ? 'never' : `${recoveryMs} ms`, pass: recoveryMs !== null && recoveryMs <= bounds.recoveryBoundMs },
        {
          name: 'recovery: every instance serves the store again',
          expected: `each ≤ ${bounds.recoveryBoundMs} ms`,
          actual: behind.length > 0
            ? `${behind.map(([name]) => name).join(', ')} never (of ${seen.length})`
            : slowest === null ? 'no instance answered' : `slowest ${slowest[0]} ${slowest[1]} ms; ${late503s} 503s after Redis answered`,
          pass: seen.length > 0 && behind.length === 0 && slowest !== null && slowest[1] <= bounds.recoveryBoundMs
        },
        { name: 'client-visible errors during the outage', expected: 'fast 503s', actual: `${traffic.summary.errors.total} (${Object.entries(traffic.summary.errors.byKind).map(([k, n]) => `${k} ${n}`).join(', ') || 'none'})`, pass: true, informational: true }
      ]
    },
    instances: () => [...byInstance.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([name, i]) => ({
      instance: name,
      'first store 2xx after Redis answered, ms': after(i.firstStoreOkAtMs),
      '503s after Redis answered': i.late503s
    }))
  }
}
