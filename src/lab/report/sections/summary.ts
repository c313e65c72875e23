/**
 * 1. Summary: every verdict of the run on one screen, then the bench targets.
 * Headlines are the two or three numbers that explain the verdict.
 */
import { overloadFlags, type BenchTarget, type CheckResult, type DrillResult, type OverloadResult } from '../../results.js'
import { table, text, why, type Block, type Section } from '../document.js'
import { formatCount, formatNumber, passFail, NOT_MEASURED } from '../format.js'
import { k6Passed, readK6Summary } from '../k6-summary.js'
import type { RunData } from '../read-run.js'

function drillHeadline (drill: DrillResult): string {
  const { load, audit } = drill
  const parts = [
    `${formatCount(load.requests)} responses`,
    `${formatCount(load.errors.total)} client errors`,
    `${formatCount(audit.acknowledged)} writes acknowledged, ${formatCount(audit.indeterminate)} indeterminate`
  ]
  const kills = drill.events.filter((e) => e.type === 'kill').length
  if (kills > 0) parts.push(`${formatCount(kills)} workers killed`)
  return parts.join('; ')
}

function checkHeadline (check: CheckResult): string {
  const { reads } = check
  const counters = check.counters.map((c) => `${c.name} ${formatCount(c.final)} of ${formatCount(c.acknowledged)}`)
  return [
    `${formatCount(reads.missed)} of ${formatCount(reads.total)} reads missed, ${formatCount(reads.stale)} stale`,
    ...(counters.length > 0 ? [`counters read back: ${counters.join(', ')}`] : [])
  ].join('; ')
}

function overloadHeadline (result: OverloadResult): string {
  const top = result.levels[result.levels.length - 1]
  const capacity = `capacity ${formatCount(result.capacity.goodputRps)} req/s`
  return top === undefined ? capacity : `${capacity}; at ${formatNumber(top.multiple)}× ${formatCount(top.goodputRps)} served, ${formatCount(top.shedRps)} shed, ${formatCount(top.failedRps)} failed req/s`
}

/** "nginx-4-kv-redis 95 (25 + 60 + 10)": server CPU µs per request, and its nginx + api + redis split. */
function costs (target: BenchTarget): string {
  return target.cost.map(({ cell, cpuUsPerRequest: c }) =>
    `${cell} ${formatCount(c.server)} (${formatCount(c.nginx)} + ${formatCount(c.api)} + ${formatCount(c.redis)})`).join('; ')
}

export function summarySection (run: RunData): Section | null {
  const verdicts: string[][] = [
    ...run.drills.map(({ file, result }) => [`drill ${result.drill}`, file, passFail(result.verdict.pass), drillHeadline(result)]),
    ...run.checks.map(({ file, result }) => [`check, STORE=${result.store}`, file, passFail(result.verdict.pass), checkHeadline(result)]),
    ...run.overloads.map(({ file, result }) => [`drill overload${overloadFlags(result)}`, file, passFail(result.verdict.pass), overloadHeadline(result)])
  ]
  for (const { file, script, result } of run.k6) {
    const k6 = readK6Summary(file, script, result)
    const pass = k6Passed(k6)
    if (pass === null) continue
    const held = k6.thresholds.filter((t) => t.ok === true).length
    verdicts.push([`k6 ${script}`, file, passFail(pass), `${held} of ${k6.thresholds.length} thresholds held`])
  }
  const targets = run.bench?.result.targets ?? []
  if (verdicts.length === 0 && targets.length === 0) return null

  const blocks: Block[] = []
  if (verdicts.length > 0) {
    const failed = verdicts.filter((v) => v[2] === 'FAIL').length
    blocks.push(text(failed === 0 ? `All ${verdicts.length} verdicts passed.` : `${failed} of ${verdicts.length} verdicts failed.`))
    blocks.push(table(['result', 'file', 'verdict', 'headline'], verdicts))
  }
  if (targets.length > 0 && run.bench !== null) {
    const { stack } = run.bench.result
    blocks.push(text(`Bench targets (${run.bench.file}), measured in the same run. The stack: ${stack.description} (cell ${stack.cell}).`))
    blocks.push(table(['target', 'formula', 'value', 'goal', 'met', 'server CPU µs/req (nginx + api + redis)'], targets.map((t) => [
      t.name, t.formula, formatNumber(t.value), t.goal, t.met === null ? (t.value === null ? NOT_MEASURED : 'not judged') : t.met ? 'yes' : 'no', costs(t)
    ])))
  }
  blocks.push(why(
    'A verdict is a rule checked against numbers measured in this run, so PASS means the rule held here, on this machine, today.',
    'Targets are ratios of configurations measured side by side, because raw req/s drifts by ±30% between runs on a small machine while ratios hold.'
  ))
  return { id: 'summary', title: 'Summary', blocks }
}
