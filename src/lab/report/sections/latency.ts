/**
 * 3. Latency percentiles: p50/p90/p99 per bench cell, the open-model run beside
 * them, and Little's law to show that closed-loop latency at saturation is
 * mostly time spent waiting in a queue.
 */
import { chartName, COLORS } from '../chart-style.js'
import { chart, table, text, why, type Block, type Section } from '../document.js'
import { formatCount, formatMs, formatPercent } from '../format.js'
import type { RunData } from '../read-run.js'
import type { CpuCost } from '../../results.js'

const PERCENTILES = ['p50', 'p90', 'p99'] as const

export function latencySection (run: RunData): Section | null {
  const bench = run.bench?.result
  if (bench === undefined) return null
  const { cells, openModel } = bench
  if (cells.length === 0 && openModel === null) return null

  const rows = cells.map((c) => ({ label: c.label, ...c.median.latencyMs }))
  if (openModel !== null) {
    rows.push({ label: `open model at ${formatCount(openModel.targetRps ?? openModel.rps)} req/s`, ...openModel.latencyMs })
  }
  const values = rows.flatMap((r) => PERCENTILES.map((p) => ({ label: r.label, percentile: p, ms: r[p] })))
    // A log scale cannot show 0 ms; the table still has the number.
    .filter((v) => v.ms > 0)

  const blocks: Block[] = []
  if (values.length > 0) {
    blocks.push(chart(chartName('latency'), 'Latency percentiles (ms, log scale)', {
      data: { values },
      title: 'Latency percentiles (ms, log scale)',
      width: 560,
      height: { step: 10 },
      mark: { type: 'bar' },
      encoding: {
        y: { field: 'label', type: 'nominal', sort: null, title: null },
        yOffset: { field: 'percentile', type: 'nominal', sort: [...PERCENTILES] },
        x: { field: 'ms', type: 'quantitative', title: 'milliseconds (log scale)', scale: { type: 'log' }, stack: null },
        color: { field: 'percentile', type: 'nominal', title: 'percentile', sort: [...PERCENTILES], scale: { range: [COLORS.blue, COLORS.orange, COLORS.red] } },
        tooltip: [{ field: 'label' }, { field: 'percentile' }, { field: 'ms', format: '.1f' }]
      }
    }))
  }

  if (cells.length > 0) {
    blocks.push(text(`The bench is a closed loop: ${bench.connections} connections each send the next request as soon as the last one is answered. Little's law then predicts the average latency from throughput alone: connections ÷ req/s.`))
    blocks.push(table(['configuration', 'req/s', 'p50 ms', 'p99 ms', `${bench.connections} ÷ req/s, ms`], cells.map((c) => [
      c.label, formatCount(c.median.rps), formatMs(c.median.latencyMs.p50), formatMs(c.median.latencyMs.p99),
      c.median.rps > 0 ? formatMs(bench.connections / c.median.rps * 1000) : ''
    ])))
  }
  if (openModel !== null) {
    blocks.push(text(openModel.engine === 'wrk'
      ? `Open model (approximated with wrk: many connections, each waiting a random think time, so requests arrive at about a fixed rate; ${openModel.label}).`
      : `Open model: requests sent at a fixed rate whatever the answers, like real users (${openModel.label}).`))
    const others = bench.openModelOthers
    if (others.length > 0) blocks.push(text('The first row is the run the target reads (the stack\'s repetition with the median p99); the others are its other repetitions and, at the same rate, fewer instances.'))
    blocks.push(table(['run', 'target req/s', 'achieved req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'errors'], [openModel, ...others].map((o) => [
      o.label, formatCount(o.targetRps), formatCount(o.rps), formatMs(o.latencyMs.p50),
      formatMs(o.latencyMs.p90), formatMs(o.latencyMs.p99), formatMs(o.latencyMs.max), formatCount(o.errors.total)
    ])))
    const cost = bench.openModelCost
    const closedLoop = cells.find((c) => c.id === bench.stack.cell)?.cpuUsPerRequest
    if (cost !== undefined) {
      const split = (c: CpuCost) => `${formatCount(c.server)} µs (nginx ${formatCount(c.nginx)} + API ${formatCount(c.api)} + Redis ${formatCount(c.redis)})`
      blocks.push(text(`At this rate a request of the stack cost ${split(cost.cpuUsPerRequest)} of server CPU` +
        `${closedLoop !== undefined ? `, against ${split(closedLoop)} in its closed-loop cell` : ''}` +
        `${cost.busyShare !== null ? `, and the machine's cores were ${formatPercent(cost.busyShare)} busy, the load generator included` : ''}. ` +
        'At a fixed rate fewer requests share each wakeup of each process than when every connection is kept busy, so half the closed loop\'s req/s can be far more than half its CPU, and the tail is the queue for the cores.'))
    }
  }
  blocks.push(why(
    'The load generator keeps every connection busy, so once the service is saturated a request mostly waits its turn in a queue: latency ≈ connections ÷ throughput, however fast the code is.',
    'The open-model run sends requests at a fixed rate below the maximum, as real users do, so its percentiles are the ones to set a latency goal (an SLO) on.'
  ))
  return { id: 'latency', title: 'Latency percentiles', blocks }
}
