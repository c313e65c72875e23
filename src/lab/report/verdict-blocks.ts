/**
 * The tables drills and checks share: the write audit and the verdict. Kept in
 * one place so a PASS reads the same wherever it appears.
 */
import type { AuditResult, Verdict } from '../results.js'
import { table, type Block } from './document.js'
import { formatCount, passFail } from './format.js'

export function auditBlocks (audit: AuditResult): Block[] {
  const blocks = [table(
    ['writes acknowledged (2xx)', 'failed (certainly not applied)', 'indeterminate (maybe applied)'],
    [[formatCount(audit.acknowledged), formatCount(audit.failed), formatCount(audit.indeterminate)]]
  )]
  if (audit.rules.length > 0) {
    blocks.push(table(['audit rule', 'result', 'detail'], audit.rules.map((r) => [r.name, passFail(r.pass), r.detail])))
  }
  return blocks
}

/** Informational rows are shown but do not decide the verdict: the result column says so. */
export function verdictBlock (verdict: Verdict): Block {
  return table(
    ['check', 'expected', 'actual', 'result'],
    verdict.checks.map((c) => [c.name, c.expected, c.actual, c.informational === true ? `${passFail(c.pass)} (informational)` : passFail(c.pass)])
  )
}
