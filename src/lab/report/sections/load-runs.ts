/**
 * 7. Load runs: the table of runs and, from the x-instance counts, how evenly
 * round robin spread each run over its instances (ideal: 100/N % each).
 */
import type { LoadSummary } from '../../results.js'
import { chartName, COLORS } from '../chart-style.js'
import { chart, table, text, why, type Block, type Section } from '../document.js'
import { formatCount, formatMs, formatNumber, formatPercent } from '../format.js'
import type { RunData } from '../read-run.js'

/** Each instance's share of the responses (0..1), or null when not recorded. */
export function shares (run: LoadSummary): Record<string, number> | null {
  const entries = Object.entries(run.instances ?? {})
  const total = entries.reduce((sum, [, n]) => sum + n, 0)
  if (entries.length === 0 || total === 0) return null
  return Object.fromEntries(entries.sort(([a], [b]) => a.localeCompare(b)).map(([instance, n]) => [instance, n / total]))
}

function shareChart (runs: LoadSummary[]): Block | null {
  // One small chart per run, stacked: runs may have different instance sets
  // (a direct run has one), and separate charts keep each y axis honest.
  const panels = runs.flatMap((run) => {
    const share = shares(run)
    if (share === null) return []
    const ideal = 100 / Object.keys(share).length
    const values = Object.entries(share).map(([instance, fraction]) => ({ instance, percent: fraction * 100, ideal }))
    return [{
      title: { text: run.label, fontSize: 12, fontWeight: 'normal' as const },
      data: { values },
      width: 360,
      height: { step: 16 },
      encoding: { y: { field: 'instance', type: 'nominal' as const, title: null } },
      layer: [
        {
          mark: { type: 'bar' as const, color: COLORS.blue },
          encoding: {
            x: { field: 'percent', type: 'quantitative' as const, title: 'share of responses, %', scale: { domain: [0, 100] } },
            tooltip: [{ field: 'instance' }, { field: 'percent', format: '.1f' }]
          }
        },
        {
          mark: { type: 'tick' as const, color: 'black', thickness: 2 },
          encoding: { x: { field: 'ideal', type: 'quantitative' as const } }
        }
      ]
    }]
  })
  if (panels.length === 0) return null
  const title = 'Share of responses per instance (%); the black tick is the ideal, 100/N'
  return chart(chartName('load-share'), title, { title, vconcat: panels })
}

function describeShares (run: LoadSummary): string {
  const share = shares(run)
  if (share === null) return 'not recorded'
  return Object.entries(share).map(([instance, fraction]) => `${instance} ${formatPercent(fraction)}`).join(', ')
}

export function loadRunsSection (run: RunData): Section | null {
  const runs = run.loads.flatMap((l) => l.result.runs)
  if (runs.length === 0) return null
  const rows = runs.map((r) => [
    r.label, r.engine, r.target, formatCount(r.connections), formatNumber(r.durationSeconds), formatCount(r.requests), formatCount(r.rps),
    formatMs(r.latencyMs.p50), formatMs(r.latencyMs.p90), formatMs(r.latencyMs.p99), formatMs(r.latencyMs.max), formatCount(r.errors.total), describeShares(r)
  ])
  const blocks: Block[] = [
    text(`From ${run.loads.map((l) => l.file).join(', ')}.`),
    table(['run', 'engine', 'target', 'connections', 'seconds', 'responses', 'req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'errors', 'share per instance'], rows)
  ]
  const shareBlock = shareChart(runs)
  if (shareBlock !== null) blocks.push(shareBlock)
  blocks.push(why(
    'nginx hands each request to the instance with the fewest in flight, ties in turn, so over a long run each of N equal instances should answer about 100/N percent of the requests.',
    'A share well below that means an instance was slow, restarting or marked down, and the others carried its load.'
  ))
  return { id: 'load', title: 'Load runs', blocks }
}
