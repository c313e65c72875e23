import { setTimeout as sleep } from 'node:timers/promises'
import { secondsSince } from '../load/progress.js'
import type { DrillResult, VerdictCheck } from '../results.js'
import { isAlive, waitFor } from '../system/process.js'
import { restartsSince } from '../stack/pm2.js'
import { instancePid, isReady } from '../stack/probe.js'
import { apiPortsOf, appNames } from '../stack/settings.js'
import { stackPaths } from '../stack/state.js'
import type { RunningStack } from '../stack/running-stack.js'
import { clientErrorChecks, WARM_UP_SECONDS, type Fault, type FaultContext } from './run-drill.js'
import type { Observation, Traffic } from './traffic.js'

export interface KillOptions {
  everySeconds: number
  durationSeconds: number
  signal: NodeJS.Signals
  /** The verdict's bound on each killed worker's time to serve again. */
  readyWithinMs: number
}

/** One kill, and how its worker came back. */
export interface Recovery {
  target: string
  killedAtMs: number
  deadAtMs?: number
  readyAfterMs: number | null
  routedAfterMs: number | null
  superseded?: boolean
}

/**
 * Under the steady mixed load, kill a random PM2 worker by PID every interval;
 * measure what clients saw, how fast each worker came back (ready, and routed to
 * by nginx), and audit every write.
 */
export function killFault (stack: RunningStack, options: KillOptions): Fault {
  const names = appNames(stack.settings)
  const ports = apiPortsOf(stack.settings)
  const pm2Home = stackPaths(stack.settings.dir).pm2Home
  const recoveries: Recovery[] = []
  const watchers: Array<Promise<void>> = []
  let restartsDuring: () => Promise<Record<string, number>>

  return {
    drill: 'kill',
    label: `drill kill every ${options.everySeconds}s for ${options.durationSeconds}s`,
    durationSeconds: options.durationSeconds,
    warmUpSeconds: WARM_UP_SECONDS,
    options: {
      every: `${options.everySeconds}s`,
      duration: `${options.durationSeconds}s`,
      signal: options.signal,
      // The stack's, not a drill option: the "before" picture is a stack whose nginx does not retry POSTs.
      retry: stack.settings.retryNonIdempotent
    },
    prepare: async () => {
      // PM2's restart counts run from the stack's start: the drill's are the difference.
      restartsDuring = await restartsSince(pm2Home)
    },
    timeline: async ({ now, mark, io }) => {
      for (let at = options.everySeconds; at <= options.durationSeconds - 1; at += options.everySeconds) {
        await sleep(Math.max(0, at * 1000 - now()))
        // A random worker among those serving: one still coming back from an earlier kill
        // would muddle that kill's recovery time (and is not what an outage looks like).
        const serving = names.map((_, i) => i).filter((i) => !recoveries.some((r) => r.target === names[i] && r.readyAfterMs === null))
        if (serving.length === 0) continue
        const i = serving[Math.floor(Math.random() * serving.length)]!
        const target = names[i]!
        const pid = await instancePid(ports[i]!)
        if (pid === null) continue // not answering: skip this tick
        const recovery: Recovery = { target, killedAtMs: now(), readyAfterMs: null, routedAfterMs: null }
        // A worker killed again before nginx routed to it: the earlier recovery has no routed time.
        for (const r of recoveries) if (r.target === target) r.superseded = true
        process.kill(pid, options.signal)
        recoveries.push(recovery)
        mark('kill', target, `pid ${pid}, ${options.signal}`, recovery.killedAtMs)
        io.say(`  kill ${target} (pid ${pid}, ${options.signal}) at ${(recovery.killedAtMs / 1000).toFixed(1)} s`)
        // A worker that does not die, or does not come back, leaves readyAfterMs null: the verdict says so.
        watchers.push((async () => {
          await waitFor(`pid ${pid} to exit`, () => !isAlive(pid), 10_000, 10)
          recovery.deadAtMs = now()
          await waitFor(`${target} to be ready again`, async () => !isAlive(pid) && await isReady(ports[i]!), 15_000, 20)
          recovery.readyAfterMs = Math.round(now() - recovery.killedAtMs)
          mark('ready', target, `${recovery.readyAfterMs} ms after the kill`)
        })().catch(() => {}))
      }
      await Promise.all(watchers)
    },
    observe: (answer, { mark }) => observeRouted(recoveries, answer, mark),
    judge: (_context, traffic) => killChecks(recoveries, options.readyWithinMs, traffic),
    details: async (): Promise<Pick<DrillResult, 'recoveries' | 'restarts'>> => ({
      recoveries: recoveryRows(recoveries),
      restarts: await restartsDuring()
    })
  }
}

/**
 * Routed again: the first answer from a killed worker to a request sent after its
 * old process was gone (an answer already on its way when it died does not count).
 */
export function observeRouted (recoveries: Recovery[], answer: Observation, mark: FaultContext['mark']): void {
  for (const r of recoveries) {
    if (r.routedAfterMs === null && !r.superseded && r.deadAtMs !== undefined && answer.instance === r.target &&
        answer.atMs - answer.latencyMs > r.deadAtMs) {
      r.routedAfterMs = Math.round(answer.atMs - r.killedAtMs)
      mark('routed', r.target, `${r.routedAfterMs} ms after the kill`, answer.atMs)
    }
  }
}

/** The kill drills' verdict rows: no client error, a kill made, each worker back within the bound. */
export function killChecks (recoveries: Recovery[], readyWithinMs: number, traffic: Traffic): VerdictCheck[] {
  const ready = recoveries.map((r) => r.readyAfterMs)
  const slowest = ready.some((ms) => ms === null) ? null : Math.max(0, ...(ready as number[]))
  const routed = recoveries.map((r) => r.routedAfterMs).filter((ms): ms is number => ms !== null)
  return [
    ...clientErrorChecks(traffic),
    { name: 'workers killed', expected: '≥ 1', actual: String(recoveries.length), pass: recoveries.length > 0 },
    {
      name: 'each killed worker ready again',
      expected: `≤ ${readyWithinMs} ms`,
      actual: slowest === null ? 'one never came back' : `slowest ${slowest} ms`,
      pass: slowest !== null && slowest <= readyWithinMs
    },
    {
      name: 'routed to again by nginx (slowest)',
      expected: 'soon after ready',
      actual: routed.length > 0 ? `${Math.max(...routed)} ms` : 'not observed',
      pass: true,
      informational: true
    }
  ]
}

/** The result's recoveries table. */
export function recoveryRows (recoveries: Recovery[]): NonNullable<DrillResult['recoveries']> {
  return recoveries.map((r) => ({ target: r.target, killedAtSeconds: secondsSince(r.killedAtMs), readyAfterMs: r.readyAfterMs, routedAfterMs: r.routedAfterMs }))
}
