import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { secondsSince } from '../load/progress.js'
import type { DrillResult, VerdictCheck } from '../results.js'
import { onInterrupt } from '../system/interrupt.js'
import { startNode, waitWhole, type Topology, type TopologyNode } from '../system/redis-topology.js'
import type { Supervisor } from '../system/supervisor.js'
import { percentile } from '../stats.js'
import { stackTopology } from '../stack/parts/redis-ha.js'
import type { RunningStack } from '../stack/running-stack.js'
import { stackSupervisor } from '../stack/state.js'
import { atRiskMutations, phaseLoss, windowOf, type PhaseLoss, type StoreAnswer, type Window } from './failover-audit.js'
import { agreedPrimary, keyExists, probeStalePrimary, PromotionWatch, type StaleWrites } from './failover-store.js'
import { FAILURE_P99_BOUND_MS } from './redis.js'
import type { Fault, FaultContext } from './run-drill.js'

export interface FailoverOptions {
  /** Failovers in one run, one after another, the topology whole again between them. */
  count: number
  /** SIGSTOP the primary for `pauseSeconds` (then SIGCONT) instead of SIGKILL (then a restart). */
  pause: boolean
  pauseSeconds: number
  /** The verdict's bounds (defaults: the targets below). */
  writeWithinMs?: number
  failureP99BoundMs?: number
}

/** The targets: from the fault to the first successful write. */
export const KILL_WRITE_BOUND_MS = 3000
export const PAUSE_WRITE_BOUND_MS = 5000
/**
 * Failures during a failover are answered at once after a kill (the Redis drill's bound). A
 * paused primary answers nothing: each of nginx's four tries waits out an instance's command
 * timeout (400 ms, twice behind a batch of auto-pipelined commands), so a 503 may take seconds;
 * bounded by the window itself.
 */
export const KILL_FAILURE_P99_BOUND_MS = FAILURE_P99_BOUND_MS
export const PAUSE_FAILURE_P99_BOUND_MS = PAUSE_WRITE_BOUND_MS

/** The Sentinels normally promote a replica within ~down-after + 1.5 s; a promotion not seen by then did not happen. */
const PROMOTION_TIMEOUT_MS = 30_000
/** The old primary is made a replica ~8–18 s after it answers again (Sentinel waits 8 s, then asks every 10 s). */
const WHOLE_TIMEOUT_MS = 60_000
/** Writes move to the next failover's targets this long before its fault, so it has writes to lose. */
const LEAD_MS = 1000
/** How often the drill asks whether the topology is whole again: each question is ~9 connections from the load generator's process. */
const WHOLE_POLL_MS = 500

/** One failover as the drill saw it, on the load's clock (ms since it started). */
interface Failover {
  index: number
  /** The load's phase whose targets this failover may lose. */
  phase: number
  from: TopologyNode
  faultAtMs: number
  to: TopologyNode | null
  promotedAtMs: number | null
  /** When the old primary answered again: SIGCONT, or its restart. */
  resumedAtMs: number | null
  /** The store requests answered from the fault until the topology was whole again. */
  answers: StoreAnswer[]
  window?: Window
  stale: StaleWrites | null
  /** Whether what the stale primary accepted is on the primary once the topology is whole again. */
  staleKept: boolean | null
  wholeAtMs: number | null
  loss?: PhaseLoss
}

const after = (at: number | null, from: number) => (at === null ? null : Math.round(at - from))

/**
 * Under the drills' mixed load, the current primary is SIGKILLed (then started
 * again from its config: it comes back believing it is the primary) or SIGSTOPped
 * for a few seconds (then SIGCONT), `count` times, the topology whole again
 * between faults. Per failover: the window (first failed store request → first
 * success), acknowledged writes lost, idempotency records lost (replays that
 * apply again), and what a stale old primary accepted and whether it was kept.
 */
export function failoverFault (stack: RunningStack, options: FailoverOptions): Fault {
  const { settings } = stack
  if (settings.redisMode !== 'sentinel') throw new Error('the failover drill needs the stack in sentinel mode (REDIS_MODE=sentinel)')
  const how = options.pause ? 'pause' : 'kill'
  const writeBound = options.writeWithinMs ?? (options.pause ? PAUSE_WRITE_BOUND_MS : KILL_WRITE_BOUND_MS)
  const failureBound = options.failureP99BoundMs ?? (options.pause ? PAUSE_FAILURE_P99_BOUND_MS : KILL_FAILURE_P99_BOUND_MS)
  const probeTag = randomBytes(4).toString('hex')
  const failovers: Failover[] = []
  let phase = 0
  let supervisor: Supervisor
  let topology: Topology
  let watch: PromotionWatch | undefined

  /** One fault, the promotion, the old primary back, the topology whole again. */
  const failOver = async (index: number, { now, mark, io }: FaultContext): Promise<Failover> => {
    const from = await agreedPrimary(topology)
    const pid = from === null ? undefined : supervisor.record(from.name)?.pid
    if (from === null || pid === undefined) throw new Error('the Sentinels agree on no primary the stack runs')
    const f: Failover = {
      index, phase, from, faultAtMs: now(), to: null, promotedAtMs: null, resumedAtMs: null, answers: [], stale: null, staleKept: null, wholeAtMs: null
    }
    failovers.push(f)
    const at = (ms: number) => `${(ms / 1000).toFixed(1)} s`
    let resumed: Promise<void> = Promise.resolve()
    if (options.pause) {
      process.kill(pid, 'SIGSTOP')
      // Whatever happens (an error, Ctrl-C), the primary is not left frozen.
      const wake = () => { try { process.kill(pid, 'SIGCONT') } catch {} }
      const unregister = onInterrupt(wake)
      resumed = sleep(options.pauseSeconds * 1000).then(() => {
        wake()
        unregister()
        f.resumedAtMs = now()
        mark('primary-resume', from.name, `SIGCONT after ${options.pauseSeconds} s`, f.resumedAtMs)
      })
    } else {
      await supervisor.stop([from.name], { signal: 'SIGKILL' })
    }
    mark(`primary-${how}`, from.name, `failover ${index}: pid ${pid}, port ${from.port}, ${options.pause ? 'SIGSTOP' : 'SIGKILL'}`, f.faultAtMs)
    io.say(`  failover ${index}: ${options.pause ? 'SIGSTOP' : 'SIGKILL'} the primary ${from.name} (pid ${pid}, port ${from.port}) at ${at(f.faultAtMs)}`)

    f.to = await watch!.promotion(from, PROMOTION_TIMEOUT_MS)
    if (f.to !== null) {
      f.promotedAtMs = now()
      mark('promoted', f.to.name, `${after(f.promotedAtMs, f.faultAtMs)} ms after the ${how}`, f.promotedAtMs)
      io.say(`  failover ${index}: the Sentinels promoted ${f.to.name} (port ${f.to.port}) ${after(f.promotedAtMs, f.faultAtMs)} ms after the ${how}`)
    }
    await resumed
    if (!options.pause) {
      // As a machine that reboots would: from its own config, still believing it is the primary
      // (under the stack's supervisor, the topology's: state.json names it at once).
      const newPid = await startNode(topology, from)
      f.resumedAtMs = now()
      mark('primary-restart', from.name, `pid ${newPid}, from its config`, f.resumedAtMs)
    }
    // A client that missed the failover writes to the old primary until it refuses.
    let whole = false
    const key = `sl:drill:split-brain:${probeTag}:${index}`
    const probing = f.to === null ? null : probeStalePrimary(from.port, key, () => whole, topology.password)
    try {
      const primaryPort = await waitWhole(topology, WHOLE_TIMEOUT_MS, WHOLE_POLL_MS)
      f.wholeAtMs = now()
      whole = true
      f.stale = await probing
      f.staleKept = f.stale === null || f.stale.accepted === 0 ? false : await keyExists(primaryPort, key, topology.password)
      mark('whole-again', from.name, `${from.name} a replica again; whole ${at(f.wholeAtMs - f.faultAtMs)} after the ${how}`, f.wholeAtMs)
      io.say(`  failover ${index}: whole again ${at(f.wholeAtMs - f.faultAtMs)} after the ${how} (the old primary took ${f.stale?.accepted ?? 0} write(s) after the promotion${f.stale?.refusedWith ? `, then ${f.stale.refusedWith}` : ''})`)
    } catch (err) {
      whole = true
      await probing
      mark('not-whole', from.name, (err as Error).message)
      io.say(`  failover ${index}: ${(err as Error).message}`)
    }
    return f
  }

  const durable = settings.durable
  return {
    drill: 'failover',
    label: `drill failover: ${options.count} × ${how} of the primary${durable ? ' (durable)' : ''}`,
    // An upper bound: the load ends 2 s after the last failover is whole again.
    durationSeconds: 5 + options.count * ((PROMOTION_TIMEOUT_MS + WHOLE_TIMEOUT_MS) / 1000 + options.pauseSeconds),
    endAfterTimelineSeconds: 2,
    options: {
      count: options.count,
      fault: options.pause ? `SIGSTOP ${options.pauseSeconds}s` : 'SIGKILL',
      durable,
      minReplicasToWrite: settings.minReplicasToWrite,
      downAfterMs: settings.downAfterMs,
      failoverTimeoutMs: settings.failoverTimeoutMs,
      quorum: settings.quorum
    },
    phases: { count: options.count + 1, current: () => phase },
    prepare: async () => {
      supervisor = stackSupervisor(stack.state)
      topology = await stackTopology(settings, supervisor)
      await waitWhole(topology, WHOLE_TIMEOUT_MS)
    },
    timeline: async (context) => {
      watch = new PromotionWatch(topology)
      try {
        await sleep(2000 - LEAD_MS)
        for (let index = 1; index <= options.count; index++) {
          // Sentinel fails the same primary over again only 2 × failover-timeout after the last attempt.
          const previous = failovers.at(-1)
          if (previous !== undefined) await sleep(Math.max(0, previous.faultAtMs + 2 * settings.failoverTimeoutMs + 500 - context.now()))
          phase = index
          await sleep(LEAD_MS)
          const f = await failOver(index, context)
          if (f.wholeAtMs === null) break // not whole: another fault would measure nothing
        }
      } finally {
        watch.close()
      }
    },
    observe: (answer) => {
      // Kept from the fault until the topology is whole again; the window is worked out afterwards.
      const f = failovers.at(-1)
      if (f === undefined || f.wholeAtMs !== null || answer.operation === 'root' || answer.atMs < f.faultAtMs) return
      f.answers.push({
        sentAtMs: answer.atMs - answer.latencyMs,
        atMs: answer.atMs,
        ok: answer.status >= 200 && answer.status < 300,
        write: answer.operation === 'kvSet' || answer.operation === 'incr',
        latencyMs: answer.latencyMs
      })
    },
    replay: (acknowledged) => atRiskMutations(acknowledged, failovers.map((f) => {
      f.window = windowOf(f.answers, f.faultAtMs)
      return { phase: f.phase, faultAtMs: f.faultAtMs, untilMs: Math.max(f.window.firstSuccessAtMs ?? f.faultAtMs, f.resumedAtMs ?? f.faultAtMs) + 500 }
    })),
    judge: ({ mark }, traffic, _audit, evidence) => {
      for (const f of failovers) {
        f.window ??= windowOf(f.answers, f.faultAtMs)
        f.answers = []
        f.loss = phaseLoss(traffic.ledger, f.phase, evidence.store, evidence.replays, traffic.kvBaseVersion)
        const back = f.window.firstSuccessAtMs
        if (back !== null) mark('first-success', 'store', `failover ${f.index}: ${after(back, f.faultAtMs)} ms after the ${how}`, back)
      }
      return failoverChecks(failovers, traffic.summary.errors.byKind, traffic.failureLatenciesMs, { count: options.count, how, durable, writeBound, failureBound })
    },
    // Without durable mode a failover may lose acknowledged writes: what it shows, measured, not a failure.
    auditInformational: (rule) => rule.startsWith('strict') || (!durable && (rule.startsWith('counters') || rule.startsWith('kv') || rule.startsWith('no double'))),
    details: (): Pick<DrillResult, 'faults'> => ({ faults: failovers.map(faultRow) })
  }
}

/** One failover as a row of the report's per-fault table. */
function faultRow (f: Failover): Record<string, string | number | boolean | null> {
  return {
    failover: f.index,
    'at s': secondsSince(f.faultAtMs),
    primary: `${f.from.name} :${f.from.port}`,
    'promoted after ms': after(f.promotedAtMs, f.faultAtMs),
    'new primary': f.to === null ? null : `${f.to.name} :${f.to.port}`,
    'first write after ms': after(f.window?.firstWriteAtMs ?? null, f.faultAtMs),
    'window ms': f.window === undefined ? null : after(f.window.firstSuccessAtMs, f.window.firstFailureSentAtMs ?? f.faultAtMs),
    'failed requests': f.window?.failures ?? null,
    'slowest failure ms': f.window === undefined ? null : Math.round(f.window.slowestFailureMs),
    'acknowledged lost': f.loss?.lost ?? null,
    'replays applied again': f.loss === undefined ? null : `${f.loss.appliedAgain} of ${f.loss.replayed}`,
    'stale primary took': f.stale?.accepted ?? null,
    'stale writes kept': f.staleKept,
    'whole again after s': f.wholeAtMs === null ? null : secondsSince(f.wholeAtMs - f.faultAtMs)
  }
}

interface Bounds { count: number, how: 'kill' | 'pause', durable: boolean, writeBound: number, failureBound: number }

/** The drill's own verdict rows (the audit's follow). */
function failoverChecks (failovers: readonly Failover[], errorKinds: Record<string, number>, failureLatenciesMs: readonly number[], b: Bounds): VerdictCheck[] {
  const writes = failovers.map((f) => after(f.window?.firstWriteAtMs ?? null, f.faultAtMs))
  const slowest = writes.some((ms) => ms === null) ? null : Math.max(0, ...(writes as number[]))
  const windows = failovers.map((f) => after(f.window?.firstSuccessAtMs ?? null, f.window?.firstFailureSentAtMs ?? f.faultAtMs))
  const failureP99 = percentile([...failureLatenciesMs].sort((x, y) => x - y), 99)
  const hangs = (errorKinds.timeout ?? 0) + (errorKinds['non2xx:504'] ?? 0)
  const lost = failovers.reduce((n, f) => n + (f.loss?.lost ?? 0), 0)
  const appliedAgain = failovers.reduce((n, f) => n + (f.loss?.appliedAgain ?? 0), 0)
  const replayed = failovers.reduce((n, f) => n + (f.loss?.replayed ?? 0), 0)
  const staleTook = failovers.reduce((n, f) => n + (f.stale?.accepted ?? 0), 0)
  const kept = failovers.filter((f) => f.staleKept === true).length
  const list = (values: ReadonlyArray<number | null>) => values.map((v) => (v === null ? 'never' : `${v}`)).join(', ')
  const informational = b.durable ? {} : { informational: true }
  return [
    { name: 'failovers: a replica promoted each time', expected: String(b.count), actual: `${failovers.filter((f) => f.to !== null).length} of ${failovers.length}`, pass: failovers.length === b.count && failovers.every((f) => f.to !== null) },
    { name: `${b.how} → first successful write (slowest)`, expected: `≤ ${b.writeBound} ms`, actual: slowest === null ? `never (${list(writes)} ms)` : `${slowest} ms (${list(writes)})`, pass: slowest !== null && slowest <= b.writeBound },
    { name: 'unavailability window: first failed store request → first success', expected: 'measured', actual: `${list(windows)} ms`, pass: true, informational: true },
    { name: 'no request hangs (client timeouts, 504s)', expected: '0', actual: String(hangs), pass: hangs === 0 },
    { name: 'failures answered fast (p99 of non-2xx)', expected: `≤ ${b.failureBound} ms`, actual: `${failureP99.toFixed(1)} ms over ${failureLatenciesMs.length} failures`, pass: failureP99 <= b.failureBound },
    { name: 'acknowledged writes lost (counters below acknowledged, kv versions behind)', expected: '0', actual: `${lost} (${list(failovers.map((f) => f.loss?.lost ?? null))})`, pass: lost === 0, ...informational },
    { name: 'idempotency records lost: at-risk replays that applied again', expected: '0', actual: `${appliedAgain} of ${replayed}`, pass: appliedAgain === 0, ...informational },
    { name: 'split brain: writes a stale old primary took after the promotion, kept', expected: 'none kept', actual: `took ${staleTook}, kept in ${kept} failover(s)`, pass: kept === 0 },
    { name: 'the old primary back as a replica, the topology whole again', expected: 'each time', actual: `${failovers.filter((f) => f.wholeAtMs !== null).length} of ${failovers.length}`, pass: failovers.length > 0 && failovers.every((f) => f.wholeAtMs !== null) }
  ]
}
