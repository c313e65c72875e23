import type { LoadTick } from '../load/autocannon.js'
import type { AuditResult, Verdict, VerdictCheck } from '../results.js'

/** Where a drill reports progress (the CLI prints; tests collect or drop). */
export interface DrillIo {
  say: (line: string) => void
}

/** Milliseconds since the load started → seconds, as result files count time. */
export function secondsSince (ms: number): number {
  return Math.round(ms / 10) / 100
}

/** One progress line a second: elapsed, req/s, errors. */
export function progressPrinter (io: DrillIo): (tick: LoadTick) => void {
  return (tick) => io.say(`  ${String(tick.elapsedSeconds).padStart(3)} s  ${String(tick.responses).padStart(6)} req/s  ${tick.errors} errors`)
}

/** A verdict from its rows: it holds when every deciding row passes. */
export function verdictOf (checks: VerdictCheck[]): Verdict {
  return { pass: checks.every((c) => c.informational || c.pass), checks }
}

/** The audit's counts and rules as verdict rows. `informational` names rules that do not decide. */
export function auditChecks (audit: AuditResult, informational: (rule: string) => boolean = () => false): VerdictCheck[] {
  return [
    // Without a single acknowledged write the rules below would hold vacuously.
    { name: 'writes audited', expected: '≥ 1 acknowledged', actual: String(audit.acknowledged), pass: audit.acknowledged > 0 },
    {
      name: 'write audit: acknowledged / failed / indeterminate',
      expected: 'counted',
      actual: `${audit.acknowledged} / ${audit.failed} / ${audit.indeterminate}`,
      pass: true,
      informational: true
    },
    ...audit.rules.map((rule) => ({
      name: rule.name,
      expected: 'holds',
      actual: rule.detail,
      pass: rule.pass,
      ...(informational(rule.name) ? { informational: true } : {})
    }))
  ]
}
