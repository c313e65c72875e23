/**
 * What Prometheus saw of a drill, beside the drill's own timeline: per instance,
 * requests/s, p99, 5xx/s and event-loop lag, and Redis' commands/s, on the same
 * time axis and with the same event marks. Then whether the instances' counts
 * add up to what the load generator counted, and what the same counters would
 * have looked like scraped through the balancer.
 */
import type { DrillResult, PrometheusView, PromSeries, SeriesPoint } from '../../results.js'
import { chartName, COLORS } from '../chart-style.js'
import { COUNT_TOLERANCE, increaseOf, ratePoints, requestCountCheck, requestsCounted, resetsOf, runsOf, scrapedThroughBalancer } from '../../counters.js'
import { chart, text, type Block } from '../document.js'
import { formatCount, formatRatio } from '../format.js'
import { drillTimeAxis, type ConcatPart } from './drill-timeline.js'

/** One colour per instance, in name order (red stays the errors' colour elsewhere; Redis is brown). */
const INSTANCE_COLORS = [COLORS.blue, COLORS.orange, COLORS.teal, COLORS.purple, COLORS.yellow, COLORS.grey, COLORS.green, COLORS.ink]

const named = (view: PrometheusView, name: string) => view.series.filter((s) => s.name === name)

/** The same colour for an instance in every panel and chart of the drill. */
function colorBy (view: PrometheusView) {
  const apis = [...new Set(view.series.map((s) => s.instance))].filter((name) => name !== 'redis').sort()
  const colorOf = (name: string) => (name === 'redis' ? COLORS.brown : INSTANCE_COLORS[apis.indexOf(name) % INSTANCE_COLORS.length]!)
  return (instances: string[]) => ({ field: 'instance', type: 'nominal' as const, title: 'instance', scale: { domain: instances, range: instances.map(colorOf) } })
}

/**
 * A series as chart rows: counters as their rate between scrapes (0 where an
 * instance was down, to `until`), gauges as they are, broken where scrapes are
 * missing (`run` names each unbroken stretch).
 */
function rows (series: PromSeries[], intervalSeconds: number, until: number): Array<SeriesPoint & { instance: string, run: string }> {
  return series.flatMap((s) => s.kind === 'counter'
    ? ratePoints(s.points, intervalSeconds, until).map((p) => ({ ...p, instance: s.instance, run: s.instance }))
    : runsOf(s.points, intervalSeconds).flatMap((run, i) => run.map((p) => ({ ...p, instance: s.instance, run: `${s.instance} ${i}` }))))
}

function seriesChart (file: string, drill: DrillResult, view: PrometheusView): Block | null {
  const { x, marks } = drillTimeAxis(drill)
  const color = colorBy(view)
  const until = Math.max(0, ...view.series.filter((s) => s.kind === 'counter').flatMap((s) => s.points.map((p) => p.t)))
  const panel = (name: string, title: string, top: boolean): ConcatPart | null => {
    const series = named(view, name)
    const values = rows(series, view.stepSeconds, until)
    if (values.length === 0) return null
    // From 0, and at least 0..1: a panel of zeros (no 5xx) shows a flat line at 0, not "0.000000".
    const y = { field: 'value', type: 'quantitative' as const, title, scale: { domain: [0, Math.max(1, ...values.map((v) => v.value))] } }
    return {
      width: 600,
      height: top ? 160 : 90,
      layer: [
        {
          data: { values },
          // A counter's rate covers the time since the previous scrape: drawn over it.
          mark: { type: 'line', interpolate: series[0]!.kind === 'counter' ? 'step-before' : 'linear', clip: true },
          encoding: { x, y, color: color(series.map((s) => s.instance)), detail: { field: 'run', type: 'nominal' } }
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

/** The instances' requests against the load generator's count (the drill's informational row), and any restarts seen in them. */
function countLine (drill: DrillResult, view: PrometheusView): string {
  const counted = requestsCounted(view)
  const check = requestCountCheck(view, drill.load.requests)
  const restarted = counted.filter((c) => c.resets > 0).map((c) => `${c.instance} ${c.resets}×`)
  // A drill that sends requests of its own (the abuse drill's attacker) leaves the row out: the counts cannot agree.
  if (!drill.verdict.checks.some((c) => c.name === check.name)) {
    return `Prometheus counted ${formatCount(counted.reduce((sum, c) => sum + c.total, 0))} responses from the instances over the load, ` +
      `the load generator ${formatCount(drill.load.requests)}: not compared, the drill sends requests of its own besides the load.`
  }
  return `Prometheus counted ${formatCount(counted.reduce((sum, c) => sum + c.total, 0))} responses from the instances over the load ` +
    `(${counted.map((c) => `${c.instance} ${formatCount(c.total)}`).join(', ')}), the load generator ${formatCount(drill.load.requests)}: ` +
    `${check.actual.replace(/ \(.*/, '')}, ${check.pass ? 'within' : 'outside'} the ${COUNT_TOLERANCE * 100}% target.` +
    (restarted.length > 0 ? ` Counters back at zero (a restarted process): ${restarted.join(', ')}; what an instance counted after its last scrape died with it.` : '') +
    (check.pass ? '' : ' A request nginx retried is counted by every instance that answered it, and an answer nginx gave itself (502, 504) by none.')
}

/** The same counters read through the balancer: one series, one instance's total after another. */
function balancerBlocks (file: string, drill: DrillResult, view: PrometheusView, requests: PromSeries[]): Block[] {
  const scrapes = scrapedThroughBalancer(requests)
  if (scrapes === null || scrapes.length < 2) return []
  const served = requests.reduce((sum, s) => sum + increaseOf(s.points), 0)
  const read = increaseOf(scrapes)
  const { x } = drillTimeAxis(drill)
  const title = 'Through the balancer, one target (dots) hops between the instances\' counters (lines)'
  const color = colorBy(view)(requests.map((s) => s.instance))
  const y = { field: 'value', type: 'quantitative' as const, title: 'requests counted' }
  return [
    text('Scraped through the balancer instead (a scrape a second, each landing on the next instance in turn as nginx\'s round robin hands them out; ' +
      `/metrics is 404 there by design, so the lab replays the instances' own samples in that order), the ${requests.length} counters read as one ` +
      `that went down ${resetsOf(scrapes)} times in ${scrapes.length} scrapes. Prometheus takes each drop for a restart and each rise for new requests, ` +
      `and its increase over the load is ${formatCount(read)} requests: ${formatRatio(served === 0 ? null : read / served)} the ${formatCount(served)} the instances served, each scraped on its own port.`),
    chart(chartName('balancer', file.replace(/\.json$/, '')), title, {
      title,
      width: 600,
      height: 140,
      layer: [
        {
          data: { values: requests.flatMap((s) => runsOf(s.points, view.stepSeconds).flatMap((run, i) => run.map((p) => ({ ...p, instance: s.instance, run: `${s.instance} ${i}` })))) },
          mark: { type: 'line', strokeWidth: 1, opacity: 0.6, clip: true },
          encoding: { x, y, color, detail: { field: 'run', type: 'nominal' } }
        },
        { data: { values: scrapes }, mark: { type: 'line', color: COLORS.ink, strokeDash: [4, 3], clip: true }, encoding: { x, y } },
        { data: { values: scrapes }, mark: { type: 'point', filled: true, size: 50, opacity: 1, clip: true }, encoding: { x, y, color } }
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
  return [series, text(countLine(drill, view)), ...balancerBlocks(file, drill, view, requests)]
}
