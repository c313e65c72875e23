/**
 * The overload drill: goodput against offered load (the classic curve: with
 * shedding it levels off near the capacity, without it collapses), the capacity
 * line, before and after on one chart when the run folder holds both, then each
 * run's levels and verdict.
 */
import { overloadFlags, type OverloadLevel, type OverloadResult } from '../../results.js'
import { chartName, COLORS } from '../chart-style.js'
import { chart, heading, table, text, why, type Block, type Section } from '../document.js'
import { formatCount, formatMs, formatNumber, passFail } from '../format.js'
import type { FromFile, RunData } from '../read-run.js'
import { verdictBlock } from '../verdict-blocks.js'

/** How a run reads in the chart's legend. */
function seriesName (result: OverloadResult): string {
  if (!result.options.shed) return 'before: no shedding'
  return result.options.retryShed ? 'shedding, 503s retried' : 'after: shedding'
}

/** Before red, after blue, the shedding that nginx's retries undo orange. */
function seriesColor (result: OverloadResult): string {
  return !result.options.shed ? COLORS.red : result.options.retryShed ? COLORS.orange : COLORS.blue
}

/** The "before" first, then the half-way, then the "after": the order the lesson reads in. */
const order = (result: OverloadResult) => (!result.options.shed ? 0 : result.options.retryShed ? 1 : 2)

function goodputChart (runs: Array<FromFile<OverloadResult>>): Block {
  const points = runs.flatMap(({ result }) => result.levels.map((level) => ({
    series: seriesName(result), offered: level.offeredRps, goodput: level.goodputRps, multiple: `${level.multiple}×`
  })))
  const capacities = runs.map(({ result }) => ({ series: seriesName(result), capacity: result.capacity.goodputRps, label: `capacity ${formatCount(result.capacity.goodputRps)} req/s` }))
  const title = 'Goodput against offered load'
  const color = { field: 'series', type: 'nominal' as const, title: null, scale: { domain: runs.map(({ result }) => seriesName(result)), range: runs.map(({ result }) => seriesColor(result)) } }
  return chart(chartName('overload', 'goodput'), title, {
    title: { text: title, subtitle: 'served within the client\'s timeout, per second · dashed: the capacity measured first (closed model) · dotted: all offered served' },
    width: 420,
    height: 260,
    layer: [
      {
        data: { values: points },
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'offered', type: 'quantitative', title: 'offered (requests per second)', scale: { zero: true } },
          y: { field: 'goodput', type: 'quantitative', title: 'goodput (2xx in time per second)' },
          color,
          tooltip: [{ field: 'series' }, { field: 'multiple' }, { field: 'offered' }, { field: 'goodput' }]
        }
      },
      {
        // What a perfect server would do: serve all that is offered, up to its capacity.
        data: { values: [{ offered: 0, served: 0 }, { offered: Math.max(0, ...points.map((p) => p.offered)), served: Math.max(0, ...points.map((p) => p.offered)) }] },
        mark: { type: 'line', strokeDash: [2, 3], color: COLORS.grey },
        encoding: { x: { field: 'offered', type: 'quantitative' }, y: { field: 'served', type: 'quantitative' } }
      },
      {
        data: { values: capacities },
        layer: [
          { mark: { type: 'rule', strokeDash: [5, 4] }, encoding: { y: { field: 'capacity', type: 'quantitative' }, color } },
          { mark: { type: 'text', align: 'left', x: 4, dy: -6, fontSize: 11, color: COLORS.grey }, encoding: { y: { field: 'capacity', type: 'quantitative' }, text: { field: 'label' } } }
        ]
      }
    ]
  })
}

const failures = (level: OverloadLevel) => Object.entries(level.failedByKind).sort(([, a], [, b]) => b - a).map(([kind, n]) => `${formatCount(n)} ${kind}`).join(', ')

function runBlocks ({ file, result }: FromFile<OverloadResult>): Block[] {
  const { capacity, options } = result
  return [
    heading(`drill overload${overloadFlags(result)}: ${passFail(result.verdict.pass)} (${file})`),
    text(`GET ${options.path}: capacity ${formatCount(capacity.goodputRps)} req/s answered 2xx (${capacity.load.label}, p99 ${formatMs(capacity.load.latencyMs.p99)} ms). ` +
      `Then ${options.levelSeconds} s per level, open model, clients waiting ${formatCount(options.timeoutMs)} ms at most. ` +
      `Instances ${options.shed ? 'shed past their admission bound' : 'admit everything (WORK_SHED=0)'}; nginx ${options.retryShed ? 'retries 502/503 answers on other instances' : 'does not retry answers'}.`),
    table(['level', 'offered req/s', 'served req/s', 'shed req/s', 'failed req/s', 'served p50 ms', 'served p99 ms', 'shed p99 ms (client)', 'shed p99 ms (nginx)', 'tries per request', 'failures'], result.levels.map((level) => [
      `${formatNumber(level.multiple)}×`, formatCount(level.offeredRps), formatCount(level.goodputRps), formatCount(level.shedRps), formatCount(level.failedRps),
      level.answeredMs === null ? '–' : formatMs(level.answeredMs.p50), level.answeredMs === null ? '–' : formatMs(level.answeredMs.p99),
      level.shedP99Ms === null ? '–' : formatMs(level.shedP99Ms), level.nginxShedP99Ms == null ? '–' : formatMs(level.nginxShedP99Ms), level.triesPerRequest === null ? '–' : formatNumber(level.triesPerRequest), failures(level)
    ])),
    verdictBlock(result.verdict)
  ]
}

export function overloadSection (run: RunData): Section | null {
  if (run.overloads.length === 0) return null
  const runs = [...run.overloads].sort((a, b) => order(a.result) - order(b.result))
  return {
    id: 'overload',
    title: 'Overload: goodput against offered load',
    blocks: [
      goodputChart(runs),
      ...runs.flatMap(runBlocks),
      why(
        'Past capacity a server either queues — everyone waits, clients give up, and the work done for them is wasted, so goodput collapses — or sheds: it refuses at once what it cannot start soon, and serves the rest in time.',
        'A refusal retried on every other instance is the same work asked for again when there is none to spare: the balancer must not multiply load that is being shed.'
      )
    ]
  }
}
