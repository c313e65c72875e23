/**
 * 2. Throughput by configuration: one bar per bench cell, and the full table
 * with latency, errors, where the CPU went, and the two ratios that make a
 * number meaningful (vs one plain instance, vs what nginx alone can do); then
 * what a request cost each process group, what each hot-path choice is worth,
 * and how the bench ran. Every figure is read from bench.json as stored.
 */
import type { BenchCell, BenchResult } from '../../results.js'
import { chartName, COLORS } from '../chart-style.js'
import { chart, heading, table, text, why, type Block, type Section } from '../document.js'
import { formatCount, formatDecimal, formatMs, formatNumber, formatRatio } from '../format.js'
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

function barChart (cells: BenchCell[]): Block {
  const values = cells.map((c) => ({ label: c.label, group: c.group, rps: c.median.rps, text: formatCount(c.median.rps) }))
  const groups = [...new Set(cells.map((c) => c.group))]
  return chart(chartName('throughput'), 'Throughput by configuration (median req/s)', {
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
}

/** The cells the ratio columns compare with, by the ids the bench stored (null: not in this run). */
function baselines (bench: BenchResult): { direct: BenchCell | null, ceiling: BenchCell | null } {
  const byId = (id: string | null) => bench.cells.find((c) => c.id === id) ?? null
  return { direct: byId(bench.baselines.direct), ceiling: byId(bench.baselines.ceiling) }
}

function cellsTable (bench: BenchResult): Block[] {
  const { direct, ceiling } = baselines(bench)
  const columns = ['configuration', 'req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'errors', 'CPU s loadgen', 'CPU s nginx', 'CPU s api', 'CPU s redis', 'server CPU µs/req']
  if (direct !== null) columns.push('× 1 direct')
  if (ceiling !== null) columns.push('× ceiling')
  columns.push('max/min over reps')
  const rows = bench.cells.map((c) => {
    const { p50, p90, p99 } = c.median.latencyMs
    const { loadgen, nginx, api, redis } = c.cpuSeconds
    const row = [c.label, formatCount(c.median.rps), formatMs(p50), formatMs(p90), formatMs(p99), formatCount(c.median.errors),
      formatDecimal(loadgen), formatDecimal(nginx), formatDecimal(api), formatDecimal(redis), formatCount(c.cpuUsPerRequest.server)]
    if (direct !== null) row.push(formatRatio(c.ratios.vsDirect))
    if (ceiling !== null) row.push(formatRatio(c.ratios.vsCeiling))
    row.push(c.ratios.spread === null ? '–' : formatRatio(c.ratios.spread))
    return row
  })
  const reference = [
    direct === null
      ? 'No cell is one instance direct on GET /, so there is no "× 1 direct" column.'
      : `× 1 direct compares with "${direct.label}" (one instance, no balancer, GET /: ${formatCount(direct.median.rps)} req/s).`,
    ceiling === null
      ? 'No nginx-only cell was measured, so there is no "× ceiling" column.'
      : `× ceiling compares with "${ceiling.label}" (nginx answering by itself: ${formatCount(ceiling.median.rps)} req/s, the most anything behind it can reach).`
  ]
  return [table(columns, rows), text(reference.join(' '))]
}

function costBlocks (bench: BenchResult): Block[] {
  const seconds = bench.durationSeconds
  const cpus = bench.meta.host.cpus
  return [
    heading('What a request costs, and where else the cores went'),
    text(`Server CPU µs per request, by process group (median over the repetitions), then the CPU seconds each run of ${formatNumber(seconds)} s on ${cpus} cores ` +
      `(${formatNumber(seconds * cpus)} CPU s in all) spent outside the bench's processes: the kernel's softirqs (loopback networking, charged to no process) and other work on the machine (the noise).`),
    table(['configuration', 'µs/req nginx', 'µs/req api', 'µs/req redis', 'µs/req server', 'CPU s softirq', 'CPU s others', 'CPU s others (worst run)'],
      bench.cells.map((c) => {
        const cost = c.cpuUsPerRequest
        return [c.label, formatCount(cost.nginx), formatCount(cost.api), formatCount(cost.redis), formatCount(cost.server),
          formatNumber(c.machine.softirq), formatNumber(c.machine.others), formatNumber(c.machine.othersWorst)]
      }))
  ]
}

function hotPathBlocks (bench: BenchResult): Block[] {
  if (bench.hotPath.length === 0) return []
  return [
    heading("Hot-path choices: the stack's GET /kv with and without each"),
    table(['hot-path choice', 'the stack has', 'the variant has', 'stack req/s', 'variant req/s', "the stack's choice is worth", 'p99 ms stack / variant', 'server CPU µs/req stack / variant'],
      bench.hotPath.map((e) => [e.choice, e.with, e.without, formatCount(e.stackRps), formatCount(e.variantRps), formatRatio(e.gain),
        `${formatMs(e.stackP99)} / ${formatMs(e.variantP99)}`, `${formatCount(e.stackUsPerRequest)} / ${formatCount(e.variantUsPerRequest)}`]))
  ]
}

export function throughputSection (run: RunData): Section | null {
  const bench = run.bench?.result
  if (bench === undefined || bench.cells.length === 0) return null
  const blocks: Block[] = [
    text(`${bench.engine}, ${bench.repetitions} interleaved repetitions of ${bench.durationSeconds} s at ${bench.connections} connections; medians shown. CPU seconds are per repetition, per process group.`),
    barChart(bench.cells),
    ...cellsTable(bench),
    ...costBlocks(bench),
    ...hotPathBlocks(bench),
    ...(bench.notes.length > 0 ? [heading('How this bench ran'), ...bench.notes.map(text)] : []),
    why(
      `Behind nginx every request makes two extra hops, and nginx and the load generator share the same ${bench.meta.host.cpus} cores as the API, so 4 instances behind nginx can be slower than 1 instance asked directly.`,
      'Per-request logging and opening a new upstream connection per request (no keepalive) are work done for every request: they take CPU that would otherwise answer requests, so throughput drops.'
    )
  ]
  return { id: 'throughput', title: 'Throughput by configuration', blocks }
}
