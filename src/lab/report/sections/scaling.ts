/**
 * 4. Scaling curve: req/s against instance count, for the CPU-bound route and
 * for the balanced (trivial) route, each against its ideal straight line, with
 * the machine's core count marked: the line past which more processes only
 * take turns. A curve is the cells of one group behind nginx that differ only
 * in their instance count (same route, store and keepalive).
 */
import type { BenchCell } from '../../results.js'
import { chartName, COLORS } from '../chart-style.js'
import { chart, heading, table, text, why, type Block, type Section } from '../document.js'
import { formatCount, formatPercent } from '../format.js'
import type { RunData } from '../read-run.js'

interface ScalingSeries {
  /** What stays fixed along the curve, in words: "GET /work?ms=5, keepalive". */
  name: string
  /** One point per instance count, ascending. */
  points: Array<{ instances: number, rps: number, cell: BenchCell }>
  /** Req/s per instance at the smallest count: ideal(n) = perInstance × n. */
  perInstance: number
  /** Cells left off because another cell already had that instance count. */
  duplicates: BenchCell[]
}

/**
 * The scaling curves of one group. Only cells behind nginx scale out, so only
 * they are drawn; a series needs at least two instance counts to be a curve.
 * The ideal is linear from the smallest count measured (normally 1).
 */
function scalingSeries (cells: BenchCell[], group: BenchCell['group']): ScalingSeries[] {
  const byKey = new Map<string, BenchCell[]>()
  for (const cell of cells) {
    if (cell.group !== group || cell.via !== 'nginx' || cell.instances === null || cell.instances < 1) continue
    const parts = [cell.route, cell.store ?? '', cell.keepalive === false ? 'no keepalive' : '']
    const key = parts.filter(Boolean).join(', ')
    byKey.set(key, [...(byKey.get(key) ?? []), cell])
  }
  const series: ScalingSeries[] = []
  for (const [name, members] of byKey) {
    const points: ScalingSeries['points'] = []
    const duplicates: BenchCell[] = []
    for (const cell of members) {
      if (points.some((p) => p.instances === cell.instances)) duplicates.push(cell)
      else points.push({ instances: cell.instances as number, rps: cell.median.rps, cell })
    }
    if (points.length < 2) continue
    points.sort((a, b) => a.instances - b.instances)
    const first = points[0] as ScalingSeries['points'][number]
    series.push({ name, points, perInstance: first.rps / first.instances, duplicates })
  }
  return series
}

const GROUPS: Array<{ group: BenchCell['group'], title: string }> = [
  { group: 'cpu', title: 'CPU-bound route' },
  { group: 'balanced', title: 'Trivial route behind nginx' }
]

function curve (group: BenchCell['group'], title: string, series: ScalingSeries[], cpus: number): Block[] {
  const points = series.flatMap((s) => s.points.map((p) => ({ series: s.name, instances: p.instances, rps: p.rps })))
  const ideal = series.flatMap((s) => s.points.map((p) => ({ series: s.name, instances: p.instances, rps: s.perInstance * p.instances })))
  const maxInstances = Math.max(cpus, ...points.map((p) => p.instances))
  const chartTitle = `${title}: req/s by instances (${cpus} cores)`
  const x = { field: 'instances', type: 'quantitative' as const, title: 'instances', scale: { domain: [0, maxInstances + 0.5], nice: false }, axis: { tickMinStep: 1, format: 'd' } }
  const y = { field: 'rps', type: 'quantitative' as const, title: 'requests per second' }
  const color = { field: 'series', type: 'nominal' as const, title: 'route' }
  const drawn = chart(chartName('scaling', group), chartTitle, {
    title: { text: chartTitle, subtitle: 'solid: measured · dashed: ideal (req/s per instance × n)' },
    width: 420,
    height: 260,
    layer: [
      { data: { values: points }, mark: { type: 'line', point: true }, encoding: { x, y, color } },
      { data: { values: ideal }, mark: { type: 'line', strokeDash: [5, 4], opacity: 0.7 }, encoding: { x, y, color } },
      {
        data: { values: [{ cpus, label: `${cpus} cores` }] },
        layer: [
          { mark: { type: 'rule', color: COLORS.grey, strokeDash: [2, 3] }, encoding: { x: { field: 'cpus', type: 'quantitative' } } },
          { mark: { type: 'text', align: 'left', dx: 4, y: 8, color: COLORS.grey, fontSize: 11 }, encoding: { x: { field: 'cpus', type: 'quantitative' }, text: { field: 'label' } } }
        ]
      }
    ]
  })

  const rows = series.flatMap((s) => s.points.map((p) => {
    const idealRps = s.perInstance * p.instances
    return [s.name, String(p.instances), formatCount(p.rps), formatCount(idealRps), idealRps > 0 ? formatPercent(p.rps / idealRps) : '']
  }))
  const blocks: Block[] = [heading(title), drawn, table(['route', 'instances', 'req/s', 'ideal req/s', 'of ideal'], rows)]
  const left = series.flatMap((s) => s.duplicates)
  if (left.length > 0) {
    blocks.push(text(`Not on the curve (another cell has the same instance count): ${left.map((c) => c.label).join(', ')}.`))
  }
  return blocks
}

export function scalingSection (run: RunData): Section | null {
  const bench = run.bench?.result
  if (bench === undefined) return null
  const cpus = bench.meta.host.cpus
  const blocks: Block[] = []
  for (const { group, title } of GROUPS) {
    const series = scalingSeries(bench.cells, group)
    if (series.length > 0) blocks.push(...curve(group, title, series, cpus))
  }
  if (blocks.length === 0) return null
  return {
    id: 'scaling',
    title: 'Scaling curve',
    blocks: [
      text(`This machine has ${cpus} CPU cores (the dotted line). The ideal line is what perfect scaling would give: the smallest measured instance count's req/s per instance, times n.`),
      ...blocks,
      why(
        `A CPU-bound route gets faster with more instances only up to the number of cores (${cpus} here): past that, the extra processes take turns on the same cores, so more instances than that are no faster than ${cpus}.`,
        'The trivial route is limited by nginx and the load generator sharing those cores, not by the API, so adding instances barely moves it.'
      )
    ]
  }
}
