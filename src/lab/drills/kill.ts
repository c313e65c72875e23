import { setTimeout as sleep } from 'node:timers/promises'
import { auditStore } from '../audit/readback.js'
import type { DrillEvent, DrillResult, RunMeta, VerdictCheck } from '../results.js'
import { isAlive, waitFor } from '../system/process.js'
import { restartsSince } from '../stack/pm2.js'
import { isReady } from '../stack/probe.js'
import { apiPortsOf, appNames } from '../stack/settings.js'
import { stackPaths } from '../stack/state.js'
import type { RunningStack } from './running-stack.js'
import { runTraffic } from './traffic.js'
import { auditChecks, drillTraffic, secondsSince, verdictOf, type DrillIo, type DrillLoad } from './drill-io.js'

export interface KillOptions extends DrillLoad {
  everySeconds: number
  durationSeconds: number
  signal: NodeJS.Signals
  /** The verdict's bound on each killed worker's time to serve again. */
  readyWithinMs: number
}

interface Recovery {
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
export async function killDrill (stack: RunningStack, options: KillOptions, meta: RunMeta, io: DrillIo): Promise<DrillResult> {
  const names = appNames(stack.settings)
  const ports = apiPortsOf(stack.settings)
  const events: DrillEvent[] = []
  const recoveries: Recovery[] = []
  const watchers: Array<Promise<void>> = []
  let startedAt = 0
  const now = () => performance.now() - startedAt

  const killLoop = async () => {
    for (let at = options.everySeconds; at <= options.durationSeconds - 1; at += options.everySeconds) {
      await sleep(Math.max(0, at * 1000 - now()))
      // A random worker among those serving: one still coming back from an earlier kill
      // would muddle that kill's recovery time (and is not what an outage looks like).
      const serving = names.map((_, i) => i).filter((i) => !recoveries.some((r) => r.target === names[i] && r.readyAfterMs === null))
      if (serving.length === 0) continue
      const i = serving[Math.floor(Math.random() * serving.length)]!
      const target = names[i]!
      // Its PID, from the instance itself (GET / answers with it): fast, and it proves the worker is up.
      const pid = await fetch(`http://127.0.0.1:${ports[i]}/`, { signal: AbortSignal.timeout(500) })
        .then((r) => (r.ok ? r.json() : null))
        .then((body) => (Number.isInteger((body as { pid?: unknown } | null)?.pid) ? (body as { pid: number }).pid : null))
        .catch(() => null)
      if (pid === null) continue // not answering: skip this tick
      const recovery: Recovery = { target, killedAtMs: now(), readyAfterMs: null, routedAfterMs: null }
      // A worker killed again before nginx routed to it: the earlier recovery has no routed time.
      for (const r of recoveries) if (r.target === target) r.superseded = true
      process.kill(pid, options.signal)
      recoveries.push(recovery)
      events.push({ t: secondsSince(recovery.killedAtMs), type: 'kill', target, detail: `pid ${pid}, ${options.signal}` })
      io.say(`  kill ${target} (pid ${pid}, ${options.signal}) at ${(recovery.killedAtMs / 1000).toFixed(1)} s`)
      // A worker that does not die, or does not come back, leaves readyAfterMs null: the verdict says so.
      watchers.push((async () => {
        await waitFor(`pid ${pid} to exit`, () => !isAlive(pid), 10_000, 10)
        recovery.deadAtMs = now()
        await waitFor(`${target} to be ready again`, async () => !isAlive(pid) && await isReady(ports[i]!), 15_000, 20)
        recovery.readyAfterMs = Math.round(now() - recovery.killedAtMs)
        events.push({ t: secondsSince(now()), type: 'ready', target, detail: `${recovery.readyAfterMs} ms after the kill` })
      })().catch(() => {}))
    }
  }

  const pm2Home = stackPaths(stack.settings.dir).pm2Home
  const restartsDuring = await restartsSince(pm2Home)
  // Started with the load, awaited after it: keep a failure until then (an unhandled
  // rejection would end the process before the stack is put back).
  let loop: Promise<unknown> = Promise.resolve()
  const traffic = await runTraffic({
    ...drillTraffic(stack.base, options, io),
    label: `drill kill every ${options.everySeconds}s for ${options.durationSeconds}s`,
    durationSeconds: options.durationSeconds,
    onStart: (at) => { startedAt = at; loop = killLoop().catch((err: unknown) => err) },
    onAnswer: (answer) => {
      // Routed again: the first answer from a killed worker to a request sent after its
      // old process was gone (an answer already on its way when it died does not count).
      for (const r of recoveries) {
        if (r.routedAfterMs === null && !r.superseded && r.deadAtMs !== undefined && answer.instance === r.target &&
            answer.atMs - answer.latencyMs > r.deadAtMs) {
          r.routedAfterMs = Math.round(answer.atMs - r.killedAtMs)
          events.push({ t: secondsSince(answer.atMs), type: 'routed', target: r.target, detail: `${r.routedAfterMs} ms after the kill` })
        }
      }
    }
  })
  const failure = await loop
  if (failure instanceof Error) throw failure
  await Promise.all(watchers)

  const audit = await auditStore(stack.base, traffic.ledger, { kvBaseVersion: traffic.kvBaseVersion })

  // PM2's restarts during the drill (its counters run from the stack's start).
  const restarts = await restartsDuring()
  const ready = recoveries.map((r) => r.readyAfterMs)
  const slowest = ready.some((ms) => ms === null) ? null : Math.max(0, ...(ready as number[]))
  const routed = recoveries.map((r) => r.routedAfterMs).filter((ms): ms is number => ms !== null)
  const checks: VerdictCheck[] = [
    { name: 'client-visible errors on GETs', expected: '0', actual: String(traffic.errorsByOperation.reads), pass: traffic.errorsByOperation.reads === 0 },
    { name: 'client-visible errors on POSTs', expected: '0', actual: String(traffic.errorsByOperation.writes), pass: traffic.errorsByOperation.writes === 0 },
    { name: 'workers killed', expected: '≥ 1', actual: String(recoveries.length), pass: recoveries.length > 0 },
    {
      name: 'each killed worker ready again',
      expected: `≤ ${options.readyWithinMs} ms`,
      actual: slowest === null ? 'one never came back' : `slowest ${slowest} ms`,
      pass: slowest !== null && slowest <= options.readyWithinMs
    },
    {
      name: 'routed to again by nginx (slowest)',
      expected: 'soon after ready',
      actual: routed.length > 0 ? `${Math.max(...routed)} ms` : 'not observed',
      pass: true,
      informational: true
    },
    ...auditChecks(audit)
  ]
  return {
    kind: 'drill',
    drill: 'kill',
    meta,
    options: {
      every: `${options.everySeconds}s`,
      duration: `${options.durationSeconds}s`,
      signal: options.signal,
      connections: options.connections,
      rate: options.rate ?? 'max',
      // The stack's, not a drill option: the "before" picture is a stack whose nginx does not retry POSTs.
      retry: stack.settings.retryNonIdempotent
    },
    load: traffic.summary,
    events: events.sort((a, b) => a.t - b.t),
    recoveries: recoveries.map((r) => ({ target: r.target, killedAtSeconds: secondsSince(r.killedAtMs), readyAfterMs: r.readyAfterMs, routedAfterMs: r.routedAfterMs })),
    restarts,
    audit,
    verdict: verdictOf(checks)
  }
}
