import type { Verdict } from '../src/lab/results.js'

/** The verdict's row whose name starts with `prefix` (throws naming the rows there are). */
export function verdictRow (verdict: Verdict, prefix: string): Verdict['checks'][number] {
  const found = verdict.checks.find((c) => c.name.startsWith(prefix))
  if (!found) throw new Error(`no verdict row "${prefix}" in ${verdict.checks.map((c) => c.name).join(' | ')}`)
  return found
}

/** The rows that fail the verdict, as a message for a failed assertion. */
export function failingRows (verdict: Verdict): string {
  return JSON.stringify(verdict.checks.filter((c) => !c.pass && c.informational !== true))
}
