/**
 * What Prometheus saw of a drill, beside the drill's own timeline: per instance,
 * requests/s, p99, 5xx/s and event-loop lag, and Redis' commands/s, on the same
 * time axis and with the same event marks. Then whether the instances' counts
 * add up to what the load generator counted, and what the same counters would
 * have looked like scraped through the balancer.
 */
import type { DrillResult, PrometheusView, PromSeries, SeriesPoint } from '../../results.js'
import { chartName, COLORS } from '../chart-style.js'
import { increaseOf, ratePoints, resetsOf, scrapedThroughBalancer } from '../counter-math.js'
import { chart, text, type Block } from '../document.js'
import { formatCount, formatPercent, formatRatio } from '../format.js'
import { drillTimeAxis, type ConcatPart } from './drill-timeline.js'

/** The issue's target: the instances' requests sum to the load generator's count within 2%. */
export const COUNT_TOLERANCE = 0.02

/** One colour per instance, in name order (red stays the errors' colour elsewhere; Redis is brown). */
const INSTANCE_COLORS = [COLORS.blue, COLORS.orange, COLORS.teal, COLORS.purple, COLORS.yellow, COLORS.grey, COLORS.green, COLORS.ink]

const named = (view: PrometheusView, name: string) => view.series.filter((s) => s.name === name)

/** A series as chart rows: counters as their rate between scrapes, gauges as they are. */
function rows (series: PromSeries[]): Array<SeriesPoint & { instance: string }> {
  return series.flatMap((s) => (s.kind === 'counter' ? ratePoints(s.points) : s.points).map((p) => ({ ...p, instance: s.instance })))
}

function seriesChart (file: string, drill: DrillResult, view: PrometheusView): Block | null {
  const { x, marks } = drillTimeAxis(drill)
  const instances = [...new Set(view.series.map((s) => s.instance))].sort()
  const color = {
    field: 'instance',
    type: 'nominal' as const,
    title: 'instance',
    scale: { domain: instances, range: instances.map((name, i) => (name === 'redis' ? COLORS.brown : INSTANCE_COLORS[i % INSTANCE_COLORS.length]!)) }
  }
  const panel = (name: string, title: string, top: boolean): ConcatPart | null => {
    const values = rows(named(view, name))
    if (values.length === 0) return null
    return {
      width: 600,
      height: top ? 160 : 90,
      layer: [
        {
          data: { values },
          // A counter's rate covers the time since the previous scrape: drawn over it.
          mark: { type: 'line', interpolate: named(view, name)[0]!.kind === 'counter' ? 'step-before' : 'linear', clip: true },
          encoding: { x, y: { field: 'value', type: 'quantitative', title, scale: { domainMin: 0 } }, color }
        },
        ...marks(top)
      ],
      resolve: { scale: { color: 'independent' } }
    }
  }
  const panels = [
    panel('requests', 'requests/s', true),
    panel('p99-ms', 'p99, ms', false),
    panel('errors-5xx', '5xx/s', false),
    panel('event-loop-lag-ms', 'event-loop lag p99, ms', false),
    panel('redis-commands', 'Redis commands/s', false)
  ].filter((p) => p !== null)
  if (panels.length === 0) return null
  const title = `drill ${drill.drill}: what Prometheus scraped from each instance (${file})`
  return chart(chartName('prometheus', file.replace(/\.json$/, '')), title, { title, vconcat: panels })
}

/** The instances' requests against the load generator's count, and any restarts seen in them. */
function countLine (drill: DrillResult, requests: PromSeries[]): string {
  const counted = requests.map((s) => ({ instance: s.instance, total: increaseOf(s.points), resets: resetsOf(s.points) }))
  const total = counted.reduce((sum, c) => sum + c.total, 0)
  const sent = drill.load.requests
  const off = sent === 0 ? null : (total - sent) / sent
  const within = off !== null && Math.abs(off) <= COUNT_TOLERANCE
  const restarted = counted.filter((c) => c.resets > 0).map((c) => `${c.instance} ${c.resets}×`)
  return `Prometheus counted ${formatCount(total)} responses from the instances over the load (${counted.map((c) => `${c.instance} ${formatCount(c.total)}`).join(', ')}), ` +
    `the load generator ${formatCount(sent)}: ${off === null ? 'nothing to compare' : `${off >= 0 ? '+' : ''}${formatPercent(off)}`}, ` +
    `${within ? 'within' : 'outside'} the ${formatPercent(COUNT_TOLERANCE)} target.` +
    (restarted.length > 0 ? ` Counters back at zero (a restarted process): ${restarted.join(', ')}; what an instance counted after its last scrape died with it.` : '') +
    (within ? '' : ' A request nginx retried is counted by every instance that answered it, and an answer nginx gave itself (502, 504) by none.')
}

/** The same counters read through the balancer: one series, one instance's total after another. */
function balancerBlocks (file: string, drill: DrillResult, requests: PromSeries[]): Block[] {
  const scrapes = scrapedThroughBalancer(requests)
  if (scrapes === null || scrapes.length < 2) return []
  const served = requests.reduce((sum, s) => sum + increaseOf(s.points), 0)
  const read = increaseOf(scrapes)
  const { x } = drillTimeAxis(drill)
  const title = 'The same counters scraped through the balancer: one series that keeps "restarting" (each dot: the instance that answered)'
  return [
    text('Scraped through the balancer instead (a scrape a second, each landing on the next instance in turn as nginx\'s round robin hands them out; ' +
      `/metrics is 404 there by design, so the lab replays the instances' own samples in that order), the ${requests.length} counters read as one ` +
      `that went down ${resetsOf(scrapes)} times in ${scrapes.length} scrapes. Prometheus takes each drop for a restart, and its increase over the load ` +
      `is ${formatCount(read)} requests: ${formatRatio(served === 0 ? null : read / served)} the ${formatCount(served)} the instances served, each scraped on its own port.`),
    chart(chartName('balancer', file.replace(/\.json$/, '')), title, {
      title,
      width: 600,
      height: 120,
      data: { values: scrapes },
      layer: [
        { mark: { type: 'line', color: COLORS.grey, clip: true }, encoding: { x, y: { field: 'value', type: 'quantitative', title: 'counter read' } } },
        { mark: { type: 'point', filled: true, clip: true }, encoding: { x, y: { field: 'value', type: 'quantitative' }, color: { field: 'instance', type: 'nominal', title: 'answered by' } } }
      ]
    })
  ]
}

/** The drill's Prometheus blocks, or one line saying why there are none. */
export function prometheusBlocks (file: string, drill: DrillResult): Block[] {
  const view = drill.prometheus
  if (view === undefined) return [text('No Prometheus series: Prometheus did not run with the stack for this drill (OBSERVE=0, or a stack without it).')]
  if (view.error !== undefined) return [text(`No Prometheus series: ${view.url} could not be read when the load ended (${view.error}).`)]
  const requests = named(view, 'requests')
  const series = seriesChart(file, drill, view)
  if (series === null || requests.length === 0) return [text(`No Prometheus series: ${view.url} held no samples of the instances for the load.`)]
  return [series, text(countLine(drill, requests)), ...balancerBlocks(file, drill, requests)]
}
