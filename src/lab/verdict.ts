import type { Verdict, VerdictCheck } from './results.js'

/** A verdict from its rows: it holds when every deciding row passes. */
export function verdictOf (checks: VerdictCheck[]): Verdict {
  return { pass: checks.every((c) => c.informational || c.pass), checks }
}

/** What a verdict's first row whose name starts with `prefix` measured, or '?' without one (for headlines). */
export function measured (verdict: Verdict, prefix: string): string {
  return verdict.checks.find((c) => c.name.startsWith(prefix))?.actual ?? '?'
}
