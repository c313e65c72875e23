import { setTimeout as sleep } from 'node:timers/promises'
import { API_SERVICE, STACK_NETWORK, type ComposeTarget } from '../containers/compose-target.js'
import type { VerdictCheck } from '../results.js'
import { waitFor } from '../system/process.js'
import { percentile } from '../stats.js'
import { isLossOrDoublingRule } from './redis.js'
import { clientErrorChecks, type Fault } from './run-drill.js'

/** nginx/scale-lab.conf.template: what bounds a try on a host that never answers. */
export const NGINX_CONNECT_TIMEOUT_MS = 1000
export const NGINX_TRIES = 4

export interface PartitionOptions {
  /** The api container whose cable is pulled (its ID), and how many the service runs. */
  container: string
  containers: number
  downSeconds: number
  /** The verdict's bounds: the load's p99 (one api container: the failures'), and recovery after the reconnect. */
  p99WithinMs: number
  recoverWithinMs: number
}

/**
 * A partition: `docker network disconnect` of one api container under load, then
 * `connect` again. Unlike a killed process (a refused connect, retried at once),
 * a host that vanishes answers nothing: each try on it costs nginx's connect
 * timeout before the next instance, until nginx's watcher sees the name resolve
 * without it and reloads. With another api container, clients see latency, not
 * errors; with one, there is no one else to serve: every request fails, within
 * nginx's bound, until the cable is back. Recovery: the container answers again
 * once reconnected (the watcher adds its address back).
 */
export function partitionFault (target: ComposeTarget, options: PartitionOptions): Fault {
  const { project } = target
  const alone = options.containers < 2
  let address = ''
  let reconnectedAtMs: number | null = null
  let backAtMs: number | null = null
  return {
    drill: 'compose-partition',
    label: `compose partition of an api container (${options.containers} running) for ${options.downSeconds}s`,
    durationSeconds: options.downSeconds + 60,
    endAfterTimelineSeconds: 2,
    options: { down: `${options.downSeconds}s`, containers: options.containers, project: project.name },
    timeline: async ({ now, mark, io }) => {
      await sleep(2000)
      address = await project.address(API_SERVICE, { network: STACK_NETWORK, container: options.container })
      const cutAtMs = now()
      await project.disconnect(API_SERVICE, { network: STACK_NETWORK, container: options.container })
      mark('disconnect', address, `docker network disconnect ${STACK_NETWORK}`, cutAtMs)
      io.say(`  api container ${address} disconnected at ${(cutAtMs / 1000).toFixed(1)} s`)
      try {
        await sleep(Math.max(0, options.downSeconds * 1000 - (now() - cutAtMs)))
      } finally {
        await project.connect(API_SERVICE, { network: STACK_NETWORK, ipv4: address, container: options.container })
      }
      reconnectedAtMs = now()
      mark('reconnect', address, 'docker network connect, the same address')
      io.say(`  reconnected at ${(reconnectedAtMs / 1000).toFixed(1)} s`)
      await waitFor(`${address} to answer again`, () => backAtMs !== null, options.recoverWithinMs + 10_000, 50).catch(() => {})
    },
    observe: (answer, { mark }) => {
      // Back: an answer from the container (nginx's x-upstream names who answered last) to a request sent after the reconnect.
      const from = answer.upstream?.split(', ').pop()?.split(':')[0]
      if (backAtMs === null && reconnectedAtMs !== null && from === address && answer.atMs - answer.latencyMs >= reconnectedAtMs) {
        backAtMs = answer.atMs
        mark('answering', address, `${Math.round(backAtMs - reconnectedAtMs)} ms after the reconnect`, answer.atMs)
      }
    },
    judge: (_context, traffic) => {
      const recoveryMs = backAtMs === null || reconnectedAtMs === null ? null : Math.round(backAtMs - reconnectedAtMs)
      const failures = [...traffic.failureLatenciesMs].sort((a, b) => a - b)
      const errors = `${traffic.summary.errors.total} (${Object.entries(traffic.summary.errors.byKind).map(([k, n]) => `${k} ${n}`).join(', ') || 'none'})`
      const p99 = alone ? percentile(failures, 99) : traffic.summary.latencyMs.p99
      const checks: VerdictCheck[] = alone
        ? [{ name: 'client-visible errors (one api container: no other to serve)', expected: 'every request while cut off', actual: errors, pass: true, informational: true }]
        : clientErrorChecks(traffic)
      return [
        ...checks,
        {
          name: alone ? 'failures answered within nginx\'s bound (p99)' : 'p99 latency (a try on the lost container costs the connect timeout)',
          expected: `≤ ${options.p99WithinMs} ms`,
          actual: `${p99.toFixed(1)} ms${alone ? ` over ${failures.length} failures` : ''}`,
          pass: p99 <= options.p99WithinMs
        },
        { name: 'slowest request (requests already sent to it wait for proxy_read_timeout)', expected: 'informational', actual: `${traffic.summary.latencyMs.max} ms`, pass: true, informational: true },
        {
          name: 'recovery: the container answers again after the reconnect',
          expected: `≤ ${options.recoverWithinMs} ms`,
          actual: recoveryMs === null ? 'never' : `${recoveryMs} ms`,
          pass: recoveryMs !== null && recoveryMs <= options.recoverWithinMs
        }
      ]
    },
    // Writes that failed while it was cut off are the lesson with one container: only loss or doubling decides.
    auditInformational: (rule) => alone && !isLossOrDoublingRule(rule)
  }
}
