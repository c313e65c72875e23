/**
 * The one skeleton every drill runs on: the steady mixed load through the
 * balancer → the fault's timeline, started with the load → the write audit →
 * the verdict (the fault's rows, then the audit's) → the result. A drill is a
 * Fault: what it does to the stack while the load runs, what it watches in the
 * answers, and what it judges afterwards.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { auditChecks } from '../audit/checks.js'
import { requestCountCheck } from '../counters.js'
import { auditStoreWithEvidence, type AuditEvidence, type ReplayChoice } from '../audit/readback.js'
import type { AuditResult, DrillEvent, DrillResult, RunMeta, VerdictCheck } from '../results.js'
import { progressPrinter, secondsSince } from '../load/progress.js'
import type { LessonIo } from '../lessons/lesson.js'
import { newRunId } from '../run.js'
import type { StackTarget } from '../target.js'
import { verdictOf } from '../verdict.js'
import type { DrillLoad } from './load-options.js'
import { readPrometheusView, waitForScrape } from './prometheus-view.js'
import { runTraffic, type Observation, type Traffic, type TrafficOptions } from './traffic.js'

type Scalar = string | number | boolean

/** What a fault's timeline and judgement work with. */
export interface FaultContext {
  stack: StackTarget
  io: LessonIo
  /** Milliseconds since the load started (0 before it starts). */
  now (): number
  /** Puts an event on the drill's timeline, at `atMs` (default: now). */
  mark (type: string, target?: string, detail?: string, atMs?: number): void
}

export interface Fault {
  /** The drill's name in its result (`kill`). */
  drill: string
  /** The load's label (`drill kill every 2s for 30s`). */
  label: string
  /** How long the load runs, at most. */
  durationSeconds: number
  /** The same load runs this long first, unmeasured and unaudited (keys of its own): see WARM_UP_SECONDS. */
  warmUpSeconds?: number
  /** The load stops this long after the timeline resolves, if that is sooner (a rollout that ends by itself). */
  endAfterTimelineSeconds?: number
  /** The options as the result records them. */
  options: Record<string, Scalar>
  /** Before the load starts (settings the drill needs, counters to compare with later). */
  prepare?: (context: FaultContext) => Promise<void>
  /** The fault itself, started the moment the load starts; awaited after the load. */
  timeline: (context: FaultContext) => Promise<void>
  /** Every answer the load gets, as it comes (to see a worker answer again, the store come back...). */
  observe?: (answer: Observation, context: FaultContext) => void
  /** Targets per phase for the load (see TrafficOptions.phases): a fault that audits each of its faults apart moves the phase on. */
  phases?: { count: number, current: () => number }
  /** Acknowledged mutations to replay besides the audit's even sample: those the fault put at risk. */
  replay?: ReplayChoice
  /** The fault's own verdict rows, once the load and the audit are done (with what the audit read back and replayed). */
  judge: (context: FaultContext, traffic: Traffic, audit: AuditResult, evidence: AuditEvidence) => VerdictCheck[] | Promise<VerdictCheck[]>
  /** The fault sends requests of its own besides the load (the abuse drill's attacker): the instances' count is not compared with the load's. */
  ownRequests?: boolean
  /** Where the audit reads back and replays (default: the balancer): the abuse drill's edge limits would refuse its pace. */
  auditUrl?: string
  /** Audit rules that only inform here (a hard kill with everysec may lose writes: that is what it shows). */
  auditInformational?: (rule: string) => boolean
  /** What the result carries besides the common parts (the kill drill's recoveries, PM2's restarts, per-fault rows). */
  details?: () => Pick<DrillResult, 'recoveries' | 'restarts' | 'faults' | 'phases'> | Promise<Pick<DrillResult, 'recoveries' | 'restarts' | 'faults' | 'phases'>>
}

/**
 * A warm-up long enough for a stack just started: its first second answered several
 * times slower (cold code, new connections; hang: p50 60 ms, then 3 ms), and its
 * first kills restarted workers more slowly (kill: 918-1,695 ms, then 852-1,153), which
 * is not what the drills that time the fault judge. 2 s was not enough for the kills:
 * on a stack just started, the first five still took 1.26-1.73 s in 2 of 3 runs; after
 * 6 s, 0.84-1.02 s in 3 of 3 (docs/lab.md).
 */
export const WARM_UP_SECONDS = 6

/** Runs `fault` under the drills' load against `stack`, audits every write and returns the drill's result. */
export async function runDrill (stack: StackTarget, fault: Fault, load: DrillLoad, meta: RunMeta, io: LessonIo): Promise<DrillResult> {
  const events: DrillEvent[] = []
  let startedAt: number | null = null
  const prometheus = stack.prometheus
  const context: FaultContext = {
    stack,
    io,
    now: () => (startedAt === null ? 0 : performance.now() - startedAt),
    mark: (type, target, detail, atMs) => {
      events.push({ t: secondsSince(atMs ?? context.now()), type, ...(target !== undefined ? { target } : {}), ...(detail !== undefined ? { detail } : {}) })
    }
  }
  if (fault.warmUpSeconds !== undefined) {
    io.say(`Warm-up: the same load for ${fault.warmUpSeconds} s, not measured`)
    await runTraffic({ ...trafficOf(load), label: `${fault.label} (warm-up)`, url: stack.base, runId: newRunId(), durationSeconds: fault.warmUpSeconds })
  }
  await fault.prepare?.(context)

  // Started with the load, awaited after it: a failure is kept until then (an unhandled
  // rejection would end the process before the stack is put back).
  let timeline: Promise<unknown> = Promise.resolve()
  let began!: () => void
  const timelineStarted = new Promise<void>((resolve) => { began = resolve })
  const until = fault.endAfterTimelineSeconds === undefined
    ? undefined
    : timelineStarted.then(() => timeline).then(() => sleep(fault.endAfterTimelineSeconds! * 1000))
  const traffic = await runTraffic({
    ...trafficOf(load),
    label: fault.label,
    url: stack.base,
    runId: newRunId(),
    ...(fault.phases ? { phases: fault.phases } : {}),
    // The seeding's writes are scraped before the load starts: Prometheus' counts of the load start at zero.
    ...(prometheus !== undefined ? { beforeStart: () => waitForScrape(prometheus, Date.now()) } : {}),
    durationSeconds: fault.durationSeconds,
    ...(until ? { until } : {}),
    onTick: progressPrinter(io.say),
    onStart: (at) => {
      startedAt = at
      timeline = fault.timeline(context).catch((err: unknown) => err)
      began()
    },
    ...(fault.observe ? { onAnswer: (answer: Observation) => fault.observe!(answer, context) } : {})
  })
  const endedAt = performance.now()
  const failure = await timeline
  if (failure instanceof Error) throw failure
  // Read now, before the audit's requests add to the instances' counts.
  const observed = prometheus === undefined || startedAt === null
    ? undefined
    : await readPrometheusView(prometheus, performance.timeOrigin + startedAt, performance.timeOrigin + endedAt)

  const { audit, evidence } = await auditStoreWithEvidence(fault.auditUrl ?? stack.base, traffic.ledger, { kvBaseVersion: traffic.kvBaseVersion }, fault.replay)
  const counted = observed !== undefined && observed.error === undefined && fault.ownRequests !== true ? [requestCountCheck(observed, traffic.summary.requests)] : []
  const checks = [...await fault.judge(context, traffic, audit, evidence), ...auditChecks(audit, fault.auditInformational), ...counted]
  return {
    kind: 'drill',
    drill: fault.drill,
    meta: { ...meta, endedAt: new Date().toISOString() },
    options: { ...fault.options, connections: load.connections, rate: load.rate ?? 'max', ...(load.model === 'open' ? { model: 'open' } : {}) },
    load: traffic.summary,
    events: events.sort((a, b) => a.t - b.t),
    ...await fault.details?.(),
    ...(observed !== undefined ? { prometheus: observed } : {}),
    audit,
    verdict: verdictOf(checks)
  }
}

/** The load's shape as runTraffic takes it. */
function trafficOf (load: DrillLoad): Pick<TrafficOptions, 'model' | 'connections' | 'rate' | 'mix'> {
  return { ...(load.model !== undefined ? { model: load.model } : {}), connections: load.connections, rate: load.rate, mix: load.mix }
}

/** The client-visible errors of a run, by reads and writes: the rows most drills judge first. */
export function clientErrorChecks (traffic: Traffic): VerdictCheck[] {
  return [
    { name: 'client-visible errors on GETs', expected: '0', actual: String(traffic.errorsByOperation.reads), pass: traffic.errorsByOperation.reads === 0 },
    { name: 'client-visible errors on POSTs', expected: '0', actual: String(traffic.errorsByOperation.writes), pass: traffic.errorsByOperation.writes === 0 }
  ]
}
