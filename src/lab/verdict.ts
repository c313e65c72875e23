import type { Verdict, VerdictCheck } from './results.js'

/** A verdict from its rows: it holds when every deciding row passes. */
export function verdictOf (checks: VerdictCheck[]): Verdict {
  return { pass: checks.every((c) => c.informational || c.pass), checks }
}
