import { setTimeout as sleep } from 'node:timers/promises'
import { auditStore } from '../audit/readback.js'
import type { DrillEvent, DrillResult, RunMeta, VerdictCheck } from '../results.js'
import { percentile } from '../stats.js'
import { withRedis } from '../system/redis-client.js'
import { startStackRedis, stopStackRedis } from '../stack/parts/redis.js'
import { auditChecks, drillTraffic, secondsSince, verdictOf, type DrillIo, type DrillLoad } from './drill-io.js'
import type { RunningStack } from './running-stack.js'
import { runTraffic } from './traffic.js'

export interface RedisDrillOptions extends DrillLoad {
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
 */
export async function redisDrill (stack: RunningStack, options: RedisDrillOptions, meta: RunMeta, io: DrillIo): Promise<DrillResult> {
  const { redisPort } = stack.settings
  const events: DrillEvent[] = []
  let startedAt = 0
  const now = () => performance.now() - startedAt
  let redisUpAtMs: number | null = null
  let firstStoreOkAtMs: number | null = null
  let downAtMs = 0

  await withRedis(redisPort, (redis) => redis.config('SET', 'appendfsync', options.fsync))
  // (The restarted Redis reads the stack's policy from its redis.conf.)
  const outage = async () => {
    await sleep(2000)
    if (stack.state.daemons.redis === undefined) throw new Error('the stack has no Redis PID recorded')
    downAtMs = now()
    events.push({ t: secondsSince(downAtMs), type: 'redis-down', target: 'redis', detail: `${options.hard ? 'SIGKILL' : 'SIGTERM'}, appendfsync ${options.fsync}` })
    io.say(`  redis down (${options.hard ? 'SIGKILL' : 'SIGTERM'}) at ${(downAtMs / 1000).toFixed(1)} s`)
    await stopStackRedis(stack.state, options.hard ? 'SIGKILL' : 'SIGTERM')
    await sleep(Math.max(0, options.downSeconds * 1000 - (now() - downAtMs)))
    // The same data folder and AOF: what was written before the stop is replayed.
    // Recorded before it answers: an interrupt while it boots still leaves the stack's state naming it.
    const newPid = await startStackRedis(stack.state)
    redisUpAtMs = now()
    events.push({ t: secondsSince(redisUpAtMs), type: 'redis-up', target: 'redis', detail: `pid ${newPid}, answering PING` })
    io.say(`  redis up again (pid ${newPid}) at ${(redisUpAtMs / 1000).toFixed(1)} s`)
  }

  // Started with the load, awaited after it: keep a failure until then.
  let fault: Promise<unknown> = Promise.resolve()
  const durationSeconds = 2 + options.downSeconds + 6
  const traffic = await runTraffic({
    ...drillTraffic(stack.base, options, io),
    label: `drill redis down ${options.downSeconds}s${options.hard ? ' (hard)' : ''}`,
    durationSeconds,
    onStart: (at) => { startedAt = at; fault = outage().catch((err: unknown) => err) },
    onAnswer: (answer) => {
      if (firstStoreOkAtMs === null && redisUpAtMs !== null && answer.operation !== 'root' &&
          answer.status >= 200 && answer.status < 300 && answer.atMs - answer.latencyMs >= redisUpAtMs) {
        firstStoreOkAtMs = answer.atMs
        events.push({ t: secondsSince(answer.atMs), type: 'first-2xx', target: 'store', detail: `${Math.round(answer.atMs - redisUpAtMs)} ms after Redis answered` })
      }
    }
  })
  const failure = await fault
  if (failure instanceof Error) throw failure

  const audit = await auditStore(stack.base, traffic.ledger, { kvBaseVersion: traffic.kvBaseVersion })

  const failureBound = options.failureP99BoundMs ?? FAILURE_P99_BOUND_MS
  const recoveryBound = options.recoveryBoundMs ?? RECOVERY_BOUND_MS
  const failureP99 = percentile([...traffic.failureLatenciesMs].sort((a, b) => a - b), 99)
  // A hang shows as a client timeout, or as nginx's 504 when an instance never answered.
  const hangs = (traffic.summary.errors.byKind.timeout ?? 0) + (traffic.summary.errors.byKind['non2xx:504'] ?? 0)
  const recoveryMs = firstStoreOkAtMs !== null && redisUpAtMs !== null ? Math.round(firstStoreOkAtMs - redisUpAtMs) : null
  // A hard kill with everysec may lose up to a second of writes: that is what it shows, not a failure.
  const lossExpected = options.hard && options.fsync === 'everysec'
  const decides = (rule: string) => rule.startsWith('counters') || rule.startsWith('kv') || rule.startsWith('no double')
  const checks: VerdictCheck[] = [
    { name: 'failures answered fast (p99 of non-2xx)', expected: `≤ ${failureBound} ms`, actual: `${failureP99.toFixed(1)} ms over ${traffic.failureLatenciesMs.length} failures`, pass: failureP99 <= failureBound },
    { name: 'no request hangs (client timeouts, 504s)', expected: '0', actual: String(hangs), pass: hangs === 0 },
    { name: 'recovery: first store 2xx after Redis answers', expected: `≤ ${recoveryBound} ms`, actual: recoveryMs === null ? 'never' : `${recoveryMs} ms`, pass: recoveryMs !== null && recoveryMs <= recoveryBound },
    { name: 'client-visible errors during the outage', expected: 'fast 503s', actual: `${traffic.summary.errors.total} (${Object.entries(traffic.summary.errors.byKind).map(([k, n]) => `${k} ${n}`).join(', ') || 'none'})`, pass: true, informational: true },
    ...auditChecks(audit, (rule) => !decides(rule) || lossExpected)
  ]
  return {
    kind: 'drill',
    drill: 'redis',
    meta,
    options: { down: `${options.downSeconds}s`, hard: options.hard, fsync: options.fsync, connections: options.connections, rate: options.rate ?? 'max' },
    load: traffic.summary,
    events: events.sort((a, b) => a.t - b.t),
    audit,
    verdict: verdictOf(checks)
  }
}
