/**
 * 2. Throughput by configuration: one bar per bench cell, and the full table
 * with latency, errors, where the CPU went, and the two ratios that make a
 * number meaningful (vs one plain instance, vs what nginx alone can do).
 */
import type { BenchCell } from '../../results.js'
import { findCeiling, findDirectBaseline } from '../bench-cells.js'
import { chartName, COLORS, renderChart } from '../charts.js'
import { chart, table, text, why, type Block, type Section } from '../document.js'
import { formatCount, formatDecimal, formatMs, formatRatio } from '../format.js'
import type { RunData } from '../read-run.js'

const GROUP_COLORS: Record<BenchCell['group'], string> = {
  baseline: COLORS.brown,
  ceiling: COLORS.grey,
  direct: COLORS.blue,
  balanced: COLORS.orange,
  store: COLORS.teal,
  cpu: COLORS.purple,
  'hot-path': COLORS.yellow
}

export async function throughputSection (run: RunData): Promise<Section | null> {
  const bench = run.bench?.result
  if (bench === undefined || bench.cells.length === 0) return null
  const { cells } = bench
  const baseline = findDirectBaseline(cells)
  const ceiling = findCeiling(cells)

  const values = cells.map((c) => ({ label: c.label, group: c.group, rps: c.median.rps, text: formatCount(c.median.rps) }))
  const groups = [...new Set(cells.map((c) => c.group))]
  const bars = await renderChart(chartName('throughput'), 'Throughput by configuration (median req/s)', {
    data: { values },
    title: 'Throughput by configuration (median req/s)',
    width: 560,
    height: { step: 22 },
    encoding: {
      y: { field: 'label', type: 'nominal', sort: { field: 'rps', op: 'max', order: 'descending' }, title: null },
      x: { field: 'rps', type: 'quantitative', title: 'requests per second' }
    },
    layer: [
      {
        mark: { type: 'bar' },
        encoding: {
          color: { field: 'group', type: 'nominal', title: 'group', scale: { domain: groups, range: groups.map((g) => GROUP_COLORS[g]) } }
        }
      },
      { mark: { type: 'text', align: 'left', dx: 3, fontSize: 10 }, encoding: { text: { field: 'text' } } }
    ]
  })

  const ratio = (cell: BenchCell, against: BenchCell | null): string =>
    against === null || against.median.rps === 0 ? '' : formatRatio(cell.median.rps / against.median.rps)
  const columns = ['configuration', 'req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'errors', 'CPU s loadgen', 'CPU s nginx', 'CPU s api', 'CPU s redis']
  if (baseline !== null) columns.push('× 1 direct')
  if (ceiling !== null) columns.push('× ceiling')
  const rows = cells.map((c) => {
    const { p50, p90, p99 } = c.median.latencyMs
    const { loadgen, nginx, api, redis } = c.cpuSeconds
    const row = [c.label, formatCount(c.median.rps), formatMs(p50), formatMs(p90), formatMs(p99), formatCount(c.median.errors),
      formatDecimal(loadgen), formatDecimal(nginx), formatDecimal(api), formatDecimal(redis)]
    if (baseline !== null) row.push(ratio(c, baseline))
    if (ceiling !== null) row.push(ratio(c, ceiling))
    return row
  })

  const reference = [
    baseline === null
      ? 'No cell is one instance direct on GET /, so there is no "× 1 direct" column.'
      : `× 1 direct compares with "${baseline.label}" (one instance, no balancer, GET /: ${formatCount(baseline.median.rps)} req/s).`,
    ceiling === null
      ? 'No nginx-only cell was measured, so there is no "× ceiling" column.'
      : `× ceiling compares with "${ceiling.label}" (nginx answering by itself: ${formatCount(ceiling.median.rps)} req/s, the most anything behind it can reach).`
  ]
  const blocks: Block[] = [
    text(`${bench.engine}, ${bench.repetitions} interleaved repetitions of ${bench.durationSeconds} s at ${bench.connections} connections; medians shown. CPU seconds are per repetition, per process group.`),
    chart(bars),
    table(columns, rows),
    text(reference.join(' ')),
    why(
      `Behind nginx every request makes two extra hops, and nginx and the load generator share the same ${bench.meta.host.cpus} cores as the API, so 4 instances behind nginx can be slower than 1 instance asked directly.`,
      'Per-request logging and opening a new upstream connection per request (no keepalive) are work done for every request: they take CPU that would otherwise answer requests, so throughput drops.'
    )
  ]
  return { id: 'throughput', title: 'Throughput by configuration', blocks }
}
