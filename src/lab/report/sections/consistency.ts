/**
 * 6. Consistency check: writes read back through the balancer, and counters
 * asked of every instance directly. On the memory store the per-instance bars
 * are the split-brain picture: each instance holds its own partial count.
 */
import type { CheckResult } from '../../results.js'
import { COLORS } from '../chart-style.js'
import { heading, resultsSection, table, text, type Block, type Section } from '../document.js'
import { formatCount, passFail } from '../format.js'
import { groupedBarChart } from '../grouped-bars.js'
import type { FromFile, RunData } from '../read-run.js'
import { auditBlocks, verdictBlock } from '../verdict-blocks.js'

const READ_VIA_NGINX = 'read via nginx'
const ACKNOWLEDGED = 'acknowledged'

function counterChart (file: string, check: CheckResult): Block | null {
  if (check.counters.length === 0) return null
  const instances = [...new Set(check.counters.flatMap((c) => Object.keys(c.perInstance)))].sort()
  const bars = [...instances, READ_VIA_NGINX, ACKNOWLEDGED]
  const values = check.counters.flatMap((c) => [
    ...instances.filter((i) => c.perInstance[i] !== undefined).map((i) => ({ counter: c.name, bar: i, value: c.perInstance[i] })),
    { counter: c.name, bar: READ_VIA_NGINX, value: c.final },
    { counter: c.name, bar: ACKNOWLEDGED, value: c.acknowledged }
  ])
  const palette = [COLORS.blue, COLORS.teal, COLORS.purple, COLORS.yellow, COLORS.brown, COLORS.orange]
  return groupedBarChart({
    name: ['counters', file.replace(/\.json$/, '')],
    title: `STORE=${check.store}: each counter as every instance sees it (${file})`,
    values,
    group: { field: 'counter', title: null },
    bars,
    colors: [...instances.map((_, i) => palette[i % palette.length] as string), COLORS.orange, COLORS.grey],
    yTitle: 'counter value',
    step: 26
  })
}

function checkBlocks ({ file, result: check }: FromFile<CheckResult>): Block[] {
  const { reads } = check
  const instances = [...new Set(check.counters.flatMap((c) => Object.keys(c.perInstance)))].sort()
  const counterChartBlock = counterChart(file, check)
  return [
    heading(`STORE=${check.store}: ${passFail(check.verdict.pass)} (${file})`),
    text(`${formatCount(check.keys)} unique keys written then read back through nginx, counters incremented by ${formatCount(check.concurrency)} concurrent clients (${formatCount(check.load.requests)} requests, ${formatCount(check.load.errors.total)} client errors).`),
    table(['reads', 'missed (404 after the write)', 'stale (older version)', 'wrong value', 'failed (an error)'], [[
      formatCount(reads.total), formatCount(reads.missed), formatCount(reads.stale), formatCount(reads.wrongValue), formatCount(reads.failed)
    ]]),
    ...(check.counters.length > 0
      ? [table(['counter', 'acknowledged', READ_VIA_NGINX, ...instances], check.counters.map((c) => [
          c.name, formatCount(c.acknowledged), formatCount(c.final), ...instances.map((i) => formatCount(c.perInstance[i]))
        ]))]
      : []),
    ...(counterChartBlock === null ? [] : [counterChartBlock]),
    ...auditBlocks(check.audit),
    verdictBlock(check.verdict)
  ]
}

export function consistencySection (run: RunData): Section | null {
  return resultsSection('consistency', 'Consistency check', run.checks, checkBlocks, [
    'With STORE=memory each instance keeps its own private copy, and nginx sends each request to the next instance in turn: a read usually lands on an instance that never saw the write, and every counter splits into one partial count per instance.',
    'With Redis all instances read and write the same store, so every read sees the last acknowledged write and every counter equals the increments that were acknowledged.'
  ])
}
