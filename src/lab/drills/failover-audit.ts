/**
 * The failover drill's audit, failover by failover. The load writes each
 * phase's mutations to targets of their own (traffic.ts: phases), the phase
 * moving on just before each fault, so what a phase's targets lost, that
 * failover lost. Pure: tested with hand-made ledgers.
 */
import type { StoreReadback, Replay } from '../audit/audit.js'
import { Ledger, type Mutation } from '../audit/ledger.js'
import { phaseOf } from './traffic.js'

/** What one failover put at risk, on the load's clock (ms since it started). */
export interface AtRisk {
  phase: number
  faultAtMs: number
  /** Until when an acknowledgement may have come from the old primary (its wake-up, or the first success after the fault). */
  untilMs: number
}

/** How many acknowledged writes before a fault are replayed (the last ones: what asynchronous replication may not have shipped). */
export const REPLAYED_BEFORE_FAULT = 50
/** At most this many acknowledged after a fault (by a stale primary) are replayed. */
const REPLAYED_AFTER_FAULT = 200

const acknowledged = (mutations: readonly Mutation[]) => mutations.filter((m) => Ledger.outcomeOf(m) === 'acknowledged')

/**
 * Acknowledged mutations that share their target and answer with another: a
 * counter's value or a key's version is handed out once on one history, so two
 * acknowledgements with the same one mean a failover threw one of them away
 * (the new primary handed its value out again).
 */
export function sharedAnswers (mutations: readonly Mutation[]): Mutation[] {
  const groups = new Map<string, Mutation[]>()
  for (const m of acknowledged(mutations)) {
    if (m.answer === undefined) continue
    const key = `${m.kind} ${m.target} ${m.answer}`
    groups.set(key, [...groups.get(key) ?? [], m])
  }
  return [...groups.values()].filter((group) => group.length > 1).flat()
}

/**
 * The acknowledged mutations a failover put at risk, to replay: those with a
 * shared answer (one of each pair was lost), the last ones acknowledged before
 * the fault, and any acknowledged after it (a stale primary's). A lost write
 * loses its idempotency record with it: its replay applies again.
 */
export function atRiskMutations (all: readonly Mutation[], failovers: readonly AtRisk[]): Mutation[] {
  const chosen = new Set<Mutation>()
  for (const f of failovers) {
    const phase = all.filter((m) => phaseOf(m.target) === f.phase)
    for (const m of sharedAnswers(phase)) chosen.add(m)
    const timed = acknowledged(phase).filter((m) => m.settledAtMs !== undefined).sort((a, b) => a.settledAtMs! - b.settledAtMs!)
    for (const m of timed.filter((m) => m.settledAtMs! < f.faultAtMs).slice(-REPLAYED_BEFORE_FAULT)) chosen.add(m)
    for (const m of timed.filter((m) => m.settledAtMs! >= f.faultAtMs && m.settledAtMs! <= f.untilMs).slice(0, REPLAYED_AFTER_FAULT)) chosen.add(m)
  }
  return [...chosen]
}

/** What one phase's targets show once the run is over. */
export interface PhaseLoss {
  /** Acknowledged mutations of the phase. */
  acknowledged: number
  /** Acknowledged writes lost, at least: counters below acknowledged, kv versions behind, or answers handed out twice. */
  lost: number
  /** Replays of the phase's acknowledged writes that applied again instead of answering as a replay. */
  appliedAgain: number
  replayed: number
}

/**
 * Per target, acknowledged writes lost is the larger of two lower bounds: the
 * store's count below the acknowledged one (applied increments, or a key's
 * version over its seed), and the answers handed out twice. The first misses a
 * loss that an indeterminate write made up for; the second one whose value was
 * never handed out again.
 */
export function phaseLoss (ledger: Ledger, phase: number, store: StoreReadback, replays: readonly Replay[], kvBaseVersion: number): PhaseLoss {
  let lost = 0
  let count = 0
  for (const kind of ['incr', 'kv'] as const) {
    for (const [target, mutations] of ledger.byTarget(kind)) {
      if (phaseOf(target) !== phase) continue
      const acked = acknowledged(mutations)
      count += acked.length
      const applied = kind === 'incr' ? store.counters.get(target) ?? 0 : (store.kv.get(target)?.version ?? kvBaseVersion) - kvBaseVersion
      const distinct = new Set(acked.filter((m) => m.answer !== undefined).map((m) => m.answer)).size
      const withAnswer = acked.filter((m) => m.answer !== undefined).length
      lost += Math.max(0, acked.length - applied, withAnswer - distinct)
    }
  }
  const mine = replays.filter((r) => phaseOf(r.mutation.target) === phase)
  return {
    acknowledged: count,
    lost,
    appliedAgain: mine.filter((r) => r.status >= 200 && r.status <= 299 && !r.replayed).length,
    replayed: mine.length
  }
}

/** A store request's answer during a failover (ms on the load's clock). */
export interface StoreAnswer {
  sentAtMs: number
  atMs: number
  ok: boolean
  write: boolean
  latencyMs: number
}

/** When the store was gone for clients, and came back. */
export interface Window {
  /** When the first store request that failed was sent (the outage as clients met it), or null if none failed. */
  firstFailureSentAtMs: number | null
  /** The first success of a request sent after the outage began (after the fault when none failed). */
  firstSuccessAtMs: number | null
  /** The first successful write sent after the fault: the target's "first successful write". */
  firstWriteAtMs: number | null
  /** Store requests that failed before the first success, and the slowest of them. */
  failures: number
  slowestFailureMs: number
}

/**
 * The window of one failover from the answers that came after its fault. A
 * failure is dated by when it was sent: behind nginx's retries a request may
 * wait through several instances' timeouts before its 503, and the outage began
 * when it was sent. Pure.
 */
export function windowOf (answers: readonly StoreAnswer[], faultAtMs: number): Window {
  const failed = answers.filter((a) => !a.ok)
  const firstFailureSentAtMs = failed.length === 0 ? null : Math.max(faultAtMs, Math.min(...failed.map((a) => a.sentAtMs)))
  const from = firstFailureSentAtMs ?? faultAtMs
  const firstAt = (list: readonly StoreAnswer[]) => (list.length === 0 ? null : Math.min(...list.map((a) => a.atMs)))
  const firstSuccessAtMs = firstAt(answers.filter((a) => a.ok && a.sentAtMs >= from))
  const firstWriteAtMs = firstAt(answers.filter((a) => a.ok && a.write && a.sentAtMs >= faultAtMs))
  const before = failed.filter((a) => firstSuccessAtMs === null || a.atMs <= firstSuccessAtMs)
  return { firstFailureSentAtMs, firstSuccessAtMs, firstWriteAtMs, failures: before.length, slowestFailureMs: Math.max(0, ...before.map((a) => a.latencyMs)) }
}
