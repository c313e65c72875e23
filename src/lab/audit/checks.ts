import type { AuditResult, VerdictCheck } from '../results.js'

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
