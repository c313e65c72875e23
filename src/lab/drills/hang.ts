import { setTimeout as sleep } from 'node:timers/promises'
import { parseSeconds } from '../lessons/options.js'
import { secondsSince } from '../load/progress.js'
import type { VerdictCheck } from '../results.js'
import { accessLogOffset, readAccessLogWhenFlushed } from '../stack/access-log.js'
import { accessLogFile } from '../stack/parts/nginx.js'
import { watchdogEvents, watchdogFiles } from '../stack/parts/watchdog.js'
import { restartsSince } from '../stack/pm2.js'
import { instancePid, isReady } from '../stack/probe.js'
import { PASSIVE_HEALTH } from '../stack/nginx.js'
import { apiPortsOf, appNames } from '../stack/settings.js'
import { stackPaths } from '../stack/state.js'
import type { RunningStack } from '../stack/running-stack.js'
import { onInterrupt } from '../system/interrupt.js'
import { isAlive } from '../system/process.js'
import { frozenTries, shortestGap, type FrozenTries } from './frozen-tries.js'
import { clientErrorChecks, WARM_UP_SECONDS, type Fault } from './run-drill.js'

export interface HangOptions {
  /** How long the instance stays frozen (unless `forever`). */
  forSeconds: number
  /** Never thawed: something must replace it. */
  forever: boolean
  durationSeconds: number
  /** The verdict's bounds (defaults: the targets below). */
  bounds?: Partial<HangBounds>
}

export interface HangBounds {
  p99Ms: number
  maxMs: number
  /** From the freeze to nginx's first timeout on the instance. */
  detectedWithinMs: number
  /** Frozen for good: from the freeze until nginx routes to its replacement. */
  replacedWithinMs: number
}

/**
 * The targets: a frozen instance costs the run almost nothing, and is replaced in
 * time when it stays frozen. A request nginx gave the frozen instance waits out the
 * fast routes' 1 s read timeout before its retry elsewhere, so its max and the
 * detection sit just above 1 s (issue 12 asked ≤ 1 s with a shorter timeout, which
 * turned a Redis outage's 503s into 504s: docs/gray-failures.md).
 */
export const HANG_BOUNDS: HangBounds = { p99Ms: 100, maxMs: 1500, detectedWithinMs: 1500, replacedWithinMs: 15_000 }

/** The load runs this long before the freeze. */
const FREEZE_AT_MS = 2000

interface Frozen {
  target: string
  port: number
  pid: number
  frozenAtMs: number
  thawedAtMs?: number
  killedAtMs?: number
  readyAtMs?: number
  routedAtMs?: number
}

/**
 * Under the steady mixed load (open model: latency counted from the schedule, so
 * requests stuck on the frozen instance show), one serving instance is frozen with
 * SIGSTOP — alive, holding its connections, answering nothing: a long GC pause, a
 * blocked event loop, a frozen VM — and thawed with SIGCONT after a while, or never.
 * nginx's access log says when it gave up on the instance and what that cost; the
 * liveness watchdog's log says when it killed an instance frozen for good.
 */
export function hangFault (stack: RunningStack, options: HangOptions): Fault {
  const bounds = { ...HANG_BOUNDS, ...options.bounds }
  const names = appNames(stack.settings)
  const ports = apiPortsOf(stack.settings)
  const pm2Home = stackPaths(stack.settings.dir).pm2Home
  const logFile = accessLogFile(stack.settings)
  const readTimeoutMs = parseSeconds(PASSIVE_HEALTH.readTimeout) * 1000
  const failTimeoutMs = parseSeconds(PASSIVE_HEALTH.failTimeout) * 1000
  let logOffset = 0
  let watchdogOffset = 0
  let restartsDuring: () => Promise<Record<string, number>>
  let restarts: Record<string, number> = {}
  let frozen: Frozen | null = null
  let tries: FrozenTries | null = null
  /** Epoch ms of the load's start: nginx's and the watchdog's clocks are epoch. */
  let epochAtStart = 0
  /** Client side: answers that took at least the read timeout, by when they were sent (ms since the start). */
  const slowSentAtMs: number[] = []
  const label = options.forever ? 'frozen for good' : `frozen ${options.forSeconds}s`

  const thaw = (pid: number) => { try { process.kill(pid, 'SIGCONT') } catch {} }

  return {
    drill: 'hang',
    label: `drill hang: one instance ${label}, load for ${options.durationSeconds}s`,
    durationSeconds: options.durationSeconds,
    warmUpSeconds: WARM_UP_SECONDS,
    options: {
      for: options.forever ? 'forever' : `${options.forSeconds}s`,
      duration: `${options.durationSeconds}s`,
      // The stack's, not drill options: the "before" picture has neither.
      passiveHealth: stack.settings.passiveHealth,
      watchdog: stack.settings.watchdog
    },
    prepare: async () => {
      restartsDuring = await restartsSince(pm2Home)
      logOffset = accessLogOffset(logFile)
      watchdogOffset = accessLogOffset(watchdogFiles(stack.settings).events)
    },
    timeline: async ({ now, mark, io }) => {
      epochAtStart = Date.now() - now()
      await sleep(Math.max(0, FREEZE_AT_MS - now()))
      const i = Math.floor(Math.random() * names.length)
      const pid = await instancePid(ports[i]!)
      if (pid === null) throw new Error(`${names[i]} did not say its PID: cannot freeze it`)
      // Whatever happens next (Ctrl-C included), the stack is not left with a stopped process.
      const unregister = onInterrupt(() => thaw(pid))
      try {
        process.kill(pid, 'SIGSTOP')
        frozen = { target: names[i]!, port: ports[i]!, pid, frozenAtMs: now() }
        mark('freeze', frozen.target, `pid ${pid}, SIGSTOP`, frozen.frozenAtMs)
        io.say(`  freeze ${frozen.target} (pid ${pid}, SIGSTOP) at ${(frozen.frozenAtMs / 1000).toFixed(1)} s`)
        const endAtMs = options.durationSeconds * 1000
        const thawAtMs = options.forever ? endAtMs : frozen.frozenAtMs + options.forSeconds * 1000
        // Until the thaw (or the end): watch for a replacement (a new process answering on its port).
        while (now() < thawAtMs && frozen.readyAtMs === undefined) {
          await sleep(100)
          const answering = await instancePid(frozen.port)
          if (answering !== null && answering !== pid && await isReady(frozen.port)) {
            frozen.readyAtMs = now()
            mark('ready', frozen.target, `pid ${answering}, ${Math.round(frozen.readyAtMs - frozen.frozenAtMs)} ms after the freeze`)
            io.say(`  ${frozen.target} replaced: pid ${answering} ready at ${(frozen.readyAtMs / 1000).toFixed(1)} s`)
          }
        }
        if (isAlive(pid)) {
          thaw(pid)
          frozen.thawedAtMs = now()
          mark('thaw', frozen.target, options.forever ? 'the drill ends: nothing replaced it' : `after ${options.forSeconds} s`)
          io.say(`  thaw ${frozen.target} at ${(frozen.thawedAtMs / 1000).toFixed(1)} s`)
        }
      } finally {
        unregister()
        thaw(pid)
      }
    },
    observe: (answer) => {
      if (answer.status > 0 && answer.latencyMs >= readTimeoutMs) slowSentAtMs.push(answer.atMs - answer.latencyMs)
      if (frozen === null || frozen.routedAtMs !== undefined || answer.instance !== frozen.target || !(answer.status >= 200 && answer.status < 300)) return
      // Routed to again: an answer from it to a request sent after it came back (thawed or replaced).
      const backAtMs = frozen.readyAtMs ?? frozen.thawedAtMs
      if (backAtMs !== undefined && answer.atMs - answer.latencyMs > backAtMs) frozen.routedAtMs = answer.atMs
    },
    judge: async ({ mark }, traffic) => {
      restarts = await restartsDuring()
      const checks: VerdictCheck[] = [...clientErrorChecks(traffic)]
      const { p99, max } = traffic.summary.latencyMs
      checks.push(
        { name: 'p99 over the whole run', expected: `≤ ${bounds.p99Ms} ms`, actual: `${p99.toFixed(1)} ms`, pass: p99 <= bounds.p99Ms },
        { name: 'slowest answer', expected: `≤ ${bounds.maxMs} ms`, actual: `${max.toFixed(0)} ms`, pass: max <= bounds.maxMs }
      )
      if (frozen === null) return [...checks, { name: 'an instance frozen', expected: 'yes', actual: 'no', pass: false }]
      const f: Frozen = frozen
      const toDrill = (epochMs: number) => epochMs - epochAtStart
      const kill = watchdogEvents(stack.settings, watchdogOffset).find((e) => e.event === 'kill' && e.target === f.target)
      if (kill !== undefined) {
        f.killedAtMs = toDrill(kill.at)
        mark('watchdog-kill', f.target, `pid ${kill.pid ?? '?'} after ${kill.misses ?? '?'} silent probes`, f.killedAtMs)
      }
      const lines = await readAccessLogWhenFlushed(logFile, logOffset, Date.now())
      // Frozen until thawed or killed: a refused connect to the dead process after the kill costs nothing.
      tries = frozenTries(lines, `127.0.0.1:${f.port}`, epochAtStart + f.frozenAtMs, epochAtStart + (f.thawedAtMs ?? f.killedAtMs ?? options.durationSeconds * 1000))
      const detectedAfterMs = tries.detectedAtMs === null ? null : Math.round(toDrill(tries.detectedAtMs) - f.frozenAtMs)
      if (tries.detectedAtMs !== null) mark('detected', f.target, `nginx gave up on it after ${detectedAfterMs} ms and retried elsewhere`, toDrill(tries.detectedAtMs))
      if (f.routedAtMs !== undefined) mark('routed', f.target, `${Math.round(f.routedAtMs - f.frozenAtMs)} ms after the freeze`, f.routedAtMs)
      const logged = lines.length > 0
      checks.push({
        name: 'detected: nginx\'s first timeout on the frozen instance',
        expected: `≤ ${bounds.detectedWithinMs} ms after the freeze`,
        actual: detectedAfterMs !== null ? `${detectedAfterMs} ms` : logged ? 'never' : 'not measured (no access log)',
        pass: detectedAfterMs !== null && detectedAfterMs <= bounds.detectedWithinMs
      })
      if (options.forever) {
        const after = tries.afterDetectionAtMs
        const gap = shortestGap(after)
        const clientSide = tries.detectedAtMs === null ? 0 : slowSentAtMs.filter((ms) => ms > toDrill(tries!.detectedAtMs!)).length
        const until = f.killedAtMs ?? options.durationSeconds * 1000
        checks.push({
          name: 'after the first detection: requests that paid the timeout',
          expected: `≤ 1 per ${failTimeoutMs} ms (fail_timeout)`,
          actual: tries.detectedAtMs === null
            ? 'no detection'
            : `${after.length} over ${((until - toDrill(tries.detectedAtMs)) / 1000).toFixed(1)} s${gap === null ? '' : `, closest ${Math.round(gap)} ms apart`} (client side: ${clientSide} answers ≥ ${readTimeoutMs} ms)`,
          // nginx counts fail_timeout in whole seconds: consecutive tries are at least that far apart.
          pass: tries.detectedAtMs !== null && (gap === null || gap >= failTimeoutMs - 50)
        })
        const routedAfterMs = f.routedAtMs === undefined ? null : Math.round(f.routedAtMs - f.frozenAtMs)
        checks.push({
          name: 'replaced: nginx routes to a new process',
          expected: `≤ ${bounds.replacedWithinMs} ms after the freeze`,
          actual: routedAfterMs === null ? 'never' : `${routedAfterMs} ms (killed by the watchdog after ${f.killedAtMs === undefined ? '?' : Math.round(f.killedAtMs - f.frozenAtMs)} ms)`,
          pass: routedAfterMs !== null && routedAfterMs <= bounds.replacedWithinMs
        })
      } else {
        const total = Object.values(restarts).reduce((a, b) => a + b, 0)
        checks.push({
          name: 'a pause is ridden out: no instance restarted',
          expected: '0 restarts',
          actual: `${total}${kill !== undefined ? ' (the watchdog killed it)' : ''}`,
          pass: total === 0
        })
      }
      checks.push({
        name: 'requests that waited on the frozen instance (nginx\'s log)',
        expected: 'counted',
        actual: `${tries.paidAtMs.length} of ${traffic.summary.requests} (${(100 * tries.paidAtMs.length / Math.max(1, traffic.summary.requests)).toFixed(2)} %)`,
        pass: true,
        informational: true
      })
      return checks
    },
    details: () => {
      if (frozen === null) return {}
      const f: Frozen = frozen
      const after = (ms: number | undefined) => (ms === undefined ? null : Math.round(ms - f.frozenAtMs))
      const detected = tries?.detectedAtMs
      return {
        restarts,
        faults: [{
          instance: f.target,
          'frozen at s': secondsSince(f.frozenAtMs),
          'detected after ms': detected === null || detected === undefined ? null : Math.round(detected - epochAtStart - f.frozenAtMs),
          'thawed after ms': after(f.thawedAtMs),
          'killed by the watchdog after ms': after(f.killedAtMs),
          'ready again after ms': after(f.readyAtMs),
          'routed to again after ms': after(f.routedAtMs),
          'requests that waited on it': tries?.paidAtMs.length ?? null
        }]
      }
    }
  }
}
