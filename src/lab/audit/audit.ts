import type { AuditResult } from '../results.js'
import { Ledger, type Mutation } from './ledger.js'

/** What the store holds now, read back through the balancer. */
export interface StoreReadback {
  /** Counter name → value. */
  counters: Map<string, number>
  /** kv key → version and value (JSON), or null when the key is missing. */
  kv: Map<string, { version: number, valueJson: string } | null>
  /** Counters and keys whose read never succeeded (the store did not come back in time), with why. */
  unreadable?: Map<string, string>
}

export interface AuditOptions {
  /** Each kv key's version before the run (written once as a seed): applied writes are version − base. */
  kvBaseVersion?: number
  /** Counters' value before the run. */
  counterBase?: number
}

interface Bounds { acknowledged: number, indeterminate: number }

function bounds (mutations: Mutation[], weight: (m: Mutation) => number): Bounds {
  const result = { acknowledged: 0, indeterminate: 0 }
  for (const m of mutations) {
    const outcome = Ledger.outcomeOf(m)
    if (outcome === 'acknowledged') result.acknowledged += weight(m)
    else if (outcome === 'indeterminate') result.indeterminate += weight(m)
  }
  return result
}

/**
 * The write audit, from the ledger and what the store holds:
 * 1. counters: acknowledged ≤ applied ≤ acknowledged + indeterminate (nothing
 *    acknowledged was lost, nothing was applied that was never sent or applied twice);
 * 2. kv: every acknowledged write is readable, at a version ≥ the one acknowledged,
 *    and the key's version counts applied writes within the same bounds;
 * 3. strict (the stack's goal): no mutation indeterminate or failed, and applied == acknowledged;
 * 4. read-back: every counter and key was read. One that was not is named there,
 *    and left out of 1 and 2 (nothing can be said of it), not counted as lost.
 * The replay rule (5) is added by auditReplays. Pure: tested with hand-made ledgers.
 */
export function auditLedger (ledger: Ledger, store: StoreReadback, options: AuditOptions = {}): AuditResult {
  const counts = ledger.counts()
  const rules: AuditResult['rules'] = []
  const counterBase = options.counterBase ?? 0
  const kvBase = options.kvBaseVersion ?? 0
  const unreadable = store.unreadable ?? new Map<string, string>()

  const counterProblems: string[] = []
  const appliedUnseen: string[] = []
  let strictOk = counts.failed === 0 && counts.indeterminate === 0 && unreadable.size === 0
  for (const [name, mutations] of ledger.byTarget('incr')) {
    if (unreadable.has(name)) continue
    const { acknowledged, indeterminate } = bounds(mutations, (m) => m.by ?? 1)
    const applied = (store.counters.get(name) ?? 0) - counterBase
    // What the indeterminate ones did: applied although the client saw an error (or nothing).
    if (indeterminate > 0 && applied >= acknowledged) appliedUnseen.push(`${applied - acknowledged} of ${indeterminate} indeterminate increment(s) of ${name} were applied`)
    if (applied < acknowledged) counterProblems.push(`${name}: ${acknowledged - applied} acknowledged increment(s) lost (applied ${applied} < acknowledged ${acknowledged})`)
    if (applied > acknowledged + indeterminate) counterProblems.push(`${name}: ${applied - acknowledged - indeterminate} increment(s) applied that no request accounts for (applied ${applied} > ${acknowledged} + ${indeterminate})`)
    if (applied !== acknowledged) strictOk = false
  }
  const counterTargets = ledger.byTarget('incr').size - [...ledger.byTarget('incr').keys()].filter((name) => unreadable.has(name)).length
  rules.push({
    name: 'counters: acknowledged ≤ final ≤ acknowledged + indeterminate',
    pass: counterProblems.length === 0,
    detail: counterProblems.length === 0
      ? [`${counterTargets} counter(s) within bounds`, ...appliedUnseen].join('; ')
      : counterProblems.slice(0, 5).join('; ')
  })

  const kvProblems: string[] = []
  let kvRead = 0
  for (const [key, mutations] of ledger.byTarget('kv')) {
    if (unreadable.has(key)) continue
    kvRead++
    const read = store.kv.get(key)
    const acked = mutations.filter((m) => Ledger.outcomeOf(m) === 'acknowledged')
    const highest = acked.reduce<Mutation | undefined>((best, m) => ((m.answer ?? 0) > (best?.answer ?? 0) ? m : best), undefined)
    if (acked.length > 0 && (read === null || read === undefined)) {
      kvProblems.push(`${key}: missing although ${acked.length} write(s) were acknowledged`)
      strictOk = false
      continue
    }
    if (!read) continue
    if (highest?.answer !== undefined && read.version < highest.answer) {
      kvProblems.push(`${key}: version ${read.version} < acknowledged ${highest.answer}`)
    }
    if (highest?.answer !== undefined && read.version === highest.answer && highest.valueJson !== undefined && read.valueJson !== highest.valueJson) {
      kvProblems.push(`${key}: version ${read.version} holds another value than the write acknowledged with it`)
    }
    const { acknowledged, indeterminate } = bounds(mutations, () => 1)
    const applied = read.version - kvBase
    if (applied < acknowledged || applied > acknowledged + indeterminate) {
      kvProblems.push(`${key}: ${applied} write(s) applied, outside [${acknowledged}, ${acknowledged + indeterminate}]`)
    }
    if (applied !== acknowledged) strictOk = false
  }
  rules.push({
    name: 'kv: every acknowledged write readable, version ≥ acknowledged',
    pass: kvProblems.length === 0,
    detail: kvProblems.length === 0 ? `${kvRead} key(s) consistent` : kvProblems.slice(0, 5).join('; ')
  })

  rules.push({
    name: 'strict: no failed or indeterminate mutation, final == acknowledged',
    pass: strictOk,
    detail: strictOk
      ? `all ${counts.acknowledged} mutations acknowledged and applied exactly once`
      : `${counts.failed} failed, ${counts.indeterminate} indeterminate${unreadable.size > 0 ? `, ${unreadable.size} not read back` : ''}`
  })

  rules.push({
    name: 'read-back: every counter and key the load wrote was read',
    pass: unreadable.size === 0,
    detail: unreadable.size === 0
      ? `${ledger.byTarget('incr').size + ledger.byTarget('kv').size} read`
      : `${unreadable.size} never read, so not audited: ${[...unreadable.values()].slice(0, 3).join('; ')}`
  })
  return { acknowledged: counts.acknowledged, failed: counts.failed, indeterminate: counts.indeterminate, rules }
}

/** A mutation sent again with its Idempotency-Key, and what came back. */
export interface Replay {
  mutation: Mutation
  status: number
  replayed: boolean
  answer: number | undefined
}

/**
 * Rule 4, no double application: acknowledged mutations sent again with the same
 * Idempotency-Key must come back as replays with the first answer, changing nothing.
 * (On the memory store they land on another instance and apply again: the lesson.)
 */
export function auditReplays (replays: Replay[], counterBefore: Map<string, number>, counterAfter: Map<string, number>): AuditResult['rules'][number] {
  const problems: string[] = []
  const failed = replays.filter((r) => r.status < 200 || r.status > 299)
  const appliedAgain = replays.filter((r) => r.status >= 200 && r.status <= 299 && !r.replayed)
  if (appliedAgain.length > 0) problems.push(`${appliedAgain.length} of ${replays.length} were applied again instead of replayed`)
  if (failed.length > 0) problems.push(`${failed.length} of ${replays.length} were not replayed (status ${[...new Set(failed.map((r) => r.status))].join(', ')})`)
  const otherAnswer = replays.filter((r) => r.replayed && r.answer !== r.mutation.answer)
  if (otherAnswer.length > 0) problems.push(`${otherAnswer.length} replay(s) answered differently from the first time`)
  for (const [name, before] of counterBefore) {
    const after = counterAfter.get(name)
    if (after === undefined) problems.push(`${name} could not be read again after the replays`)
    else if (after !== before) problems.push(`${name} moved from ${before} to ${after} during the replays`)
  }
  return {
    name: 'no double application: replays of acknowledged mutations apply nothing',
    pass: problems.length === 0,
    detail: problems.length === 0
      ? (replays.length > 0 ? `${replays.length} replays, all answered as the first time` : 'nothing acknowledged to replay')
      : problems.join('; ')
  }
}
