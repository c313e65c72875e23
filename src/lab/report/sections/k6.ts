/**
 * 8. k6 summaries: the key numbers of each k6-<script>.json and its
 * thresholds. Tables only: k6 already printed its own summary, and these
 * numbers are here to be compared with the lab's.
 */
import { table, text, heading, why, type Block, type Section } from '../document.js'
import { formatCount, formatMs, formatNumber, formatPercent, passFail } from '../format.js'
import { k6Passed, readK6Summary, type K6Numbers } from '../k6-summary.js'
import type { RunData } from '../read-run.js'

function numbersTable (k6: K6Numbers): Block {
  const d = k6.duration
  const rows: Array<[string, string]> = [
    ['duration', k6.durationMs === null ? formatMs(null) : `${formatNumber(k6.durationMs / 1000)} s`],
    ['requests', formatCount(k6.requests)],
    ['req/s', formatCount(k6.rps)],
    ['median ms', formatMs(d.med)],
    ['average ms', formatMs(d.avg)],
    ['p(90) ms', formatMs(d.p90)],
    ['p(95) ms', formatMs(d.p95)],
    ['p(99) ms', formatMs(d.p99)],
    ['max ms', formatMs(d.max)],
    ['failed requests', formatPercent(k6.failedRate)],
    ['checks passed', formatPercent(k6.checksRate)]
  ]
  const total = Object.values(k6.instances).reduce((sum, n) => sum + n, 0)
  for (const [instance, count] of Object.entries(k6.instances).sort(([a], [b]) => a.localeCompare(b))) {
    rows.push([`responses from ${instance}`, `${formatCount(count)} (${formatPercent(total > 0 ? count / total : null)})`])
  }
  return table(['k6 metric', 'value'], rows)
}

export function k6Section (run: RunData): Section | null {
  if (run.k6.length === 0) return null
  const blocks: Block[] = []
  for (const { file, script, result } of run.k6) {
    const k6 = readK6Summary(file, script, result)
    const verdict = k6Passed(k6)
    blocks.push(heading(`k6 ${script}${verdict === null ? '' : `: ${passFail(verdict)}`} (${file})`))
    blocks.push(numbersTable(k6))
    if (k6.endpoints.length > 0) {
      blocks.push(table(['endpoint', 'median ms', 'p(95) ms', 'p(99) ms'], k6.endpoints.map((e) => [e.endpoint, formatMs(e.med), formatMs(e.p95), formatMs(e.p99)])))
    }
    if (k6.custom.length > 0) {
      blocks.push(table(['script metric', 'value'], k6.custom.map((c) => [c.name, c.kind === 'count' ? formatCount(c.value) : formatPercent(c.value)])))
    }
    blocks.push(k6.thresholds.length > 0
      ? table(['metric', 'threshold', 'result'], k6.thresholds.map((t) => [t.metric, t.expression, passFail(t.ok)]))
      : text('No thresholds were set in this script.'))
  }
  blocks.push(why(
    'k6 is the load tool you run yourself; its thresholds turn a run into pass or fail, just like the lab\'s verdicts.',
    'Its percentiles are measured from the client\'s side, so they include nginx and the network as well as the service.'
  ))
  return { id: 'k6', title: 'k6 summaries', blocks }
}
