import type { Outcome } from './outcome.js'

/** One mutation the load sent, with its own Idempotency-Key. */
export interface Mutation {
  idempotencyKey: string
  kind: 'incr' | 'kv'
  /** The counter's name or the kv key. */
  target: string
  /** incr: the increment. */
  by?: number
  /** kv: the value written (JSON). */
  valueJson?: string
  /** Undefined while in flight; a mutation never answered stays indeterminate. */
  outcome?: Outcome
  status?: number
  /** The answer of an acknowledged mutation: the counter's value, or the key's version. */
  answer?: number
  /** When its answer came (ms since the load started), when the load says. */
  settledAtMs?: number
}

/** Every mutation of a run, by Idempotency-Key. */
export class Ledger {
  readonly mutations = new Map<string, Mutation>()

  add (mutation: Mutation): void {
    this.mutations.set(mutation.idempotencyKey, mutation)
  }

  settle (idempotencyKey: string, outcome: Outcome, status?: number, answer?: number, atMs?: number): void {
    const mutation = this.mutations.get(idempotencyKey)
    if (!mutation) return
    mutation.outcome = outcome
    mutation.status = status
    mutation.answer = answer
    if (atMs !== undefined) mutation.settledAtMs = atMs
  }

  /** The outcome the audit uses: unanswered mutations are indeterminate. */
  static outcomeOf (mutation: Mutation): Outcome {
    return mutation.outcome ?? 'indeterminate'
  }

  counts (): Record<Outcome, number> {
    const counts: Record<Outcome, number> = { acknowledged: 0, failed: 0, indeterminate: 0 }
    for (const mutation of this.mutations.values()) counts[Ledger.outcomeOf(mutation)]++
    return counts
  }

  /** The mutations of one kind, grouped by target. */
  byTarget (kind: Mutation['kind']): Map<string, Mutation[]> {
    const groups = new Map<string, Mutation[]>()
    for (const mutation of this.mutations.values()) {
      if (mutation.kind !== kind) continue
      const group = groups.get(mutation.target) ?? []
      group.push(mutation)
      groups.set(mutation.target, group)
    }
    return groups
  }
}
