/**
 * A drill's timeline chart: responses and errors per second (and latency, when
 * the load recorded it per second), with the drill's events marked on the same
 * time axis. Known event types keep one colour everywhere; a type the report
 * does not know (a new drill's) gets a spare colour and its name written beside
 * its mark, so a new drill needs no change here.
 */
import type { TopLevelSpec } from 'vega-lite'
import type { DrillResult } from '../../results.js'
import { chartName, COLORS } from '../chart-style.js'
import { chart, type Block } from '../document.js'

/** One panel of a vertical concatenation (vega-lite exports only the top-level spec type). */
export type ConcatPart = Extract<TopLevelSpec, { vconcat: unknown }>['vconcat'][number]

/** One colour per known event type, so "kill" is the same in every drill. */
const EVENT_COLORS: Record<string, string> = {
  // Faults are dark (not red: red is the errors line), recoveries green.
  kill: COLORS.ink,
  ready: COLORS.green,
  routed: COLORS.teal,
  'reload-start': COLORS.orange,
  'reload-done': COLORS.green,
  'redis-down': COLORS.ink,
  'redis-up': COLORS.green,
  'first-2xx': COLORS.blue,
  // The failover drill: the fault, the promotion, the store back, the old primary back as a replica.
  'primary-kill': COLORS.ink,
  'primary-pause': COLORS.ink,
  promoted: COLORS.orange,
  'primary-restart': COLORS.brown,
  'primary-resume': COLORS.brown,
  'first-success': COLORS.blue,
  'whole-again': COLORS.green
}

/** Colours for event types not in EVENT_COLORS, in the order they first appear. */
const SPARE_COLORS = [COLORS.purple, COLORS.brown, COLORS.yellow, COLORS.grey]

/**
 * A drill's time axis (to the end of its per-second points or its last event)
 * and its event marks, so every chart of the drill draws them alike: `marks(true)`
 * for the top panel also labels the events of a type the report does not know.
 */
export function drillTimeAxis (drill: DrillResult) {
  const points = drill.load.timeline ?? []
  const events = drill.events.map((e) => ({ t: e.t, type: e.type, what: e.target === undefined ? e.type : `${e.type} ${e.target}` }))
  const types = [...new Set(drill.events.map((e) => e.type))]
  const unknown = types.filter((t) => EVENT_COLORS[t] === undefined)
  const colorOf = (type: string) => EVENT_COLORS[type] ?? SPARE_COLORS[unknown.indexOf(type) % SPARE_COLORS.length]!
  const maxT = Math.max(0, ...points.map((p) => p.t), ...events.map((e) => e.t)) + 1
  const x = { field: 't', type: 'quantitative' as const, title: 'seconds since the load started', scale: { domain: [0, maxT], nice: false } }
  // The same event rules on every panel; an empty events list draws nothing.
  const eventLayer = {
    data: { values: events },
    mark: { type: 'rule' as const, strokeWidth: 1.5, opacity: 0.8 },
    encoding: {
      x,
      color: { field: 'type', type: 'nominal' as const, title: 'event', scale: { domain: types, range: types.map(colorOf) } },
      tooltip: [{ field: 'what' }, { field: 't' }]
    }
  }
  // Events of a type the report does not know are labelled on the top panel: the legend alone would not say what they are.
  const labels = events.filter((e) => unknown.includes(e.type))
  const labelLayer = {
    data: { values: labels },
    mark: { type: 'text' as const, align: 'left' as const, baseline: 'top' as const, dx: 3, fontSize: 10, color: COLORS.ink },
    encoding: { x, y: { value: 2 }, text: { field: 'what', type: 'nominal' as const } }
  }
  const marks = (top: boolean) => [...(events.length > 0 ? [eventLayer] : []), ...(top && labels.length > 0 ? [labelLayer] : [])]
  return { x, marks }
}

export function timelineChart (file: string, drill: DrillResult): Block | null {
  const points = drill.load.timeline ?? []
  if (points.length === 0) return null
  const { x, marks } = drillTimeAxis(drill)
  const panel = (field: 'responses' | 'errors', title: string, color: string): ConcatPart => ({
    width: 600,
    height: field === 'responses' ? 160 : 90,
    layer: [
      {
        data: { values: points },
        mark: { type: 'line', color, interpolate: 'step-after' },
        encoding: {
          x,
          // From 0, whole numbers, and at least 0..1: a run with no errors shows a flat line at 0, not "0.000000".
          y: { field, type: 'quantitative', title, scale: { domain: [0, Math.max(1, ...points.map((p) => p[field]))] }, axis: { format: ',d', tickMinStep: 1 } }
        }
      },
      ...marks(field === 'responses')
    ]
  })
  const latency = points.flatMap((p) => p.latencyMs === undefined ? [] : [{ t: p.t, ...p.latencyMs }])
  const latencyLine = (field: 'p50' | 'p99', color: string) => ({
    data: { values: latency },
    mark: { type: 'line' as const, color, interpolate: 'step-after' as const },
    encoding: { x, y: { field, type: 'quantitative' as const, title: 'ms (p50 blue, p99 orange)' } }
  })
  const latencyPanel: ConcatPart = { width: 600, height: 90, layer: [latencyLine('p50', COLORS.blue), latencyLine('p99', COLORS.orange), ...marks(false)] }
  const title = `drill ${drill.drill}: responses and errors per second${latency.length > 0 ? ', and latency' : ''} (${file})`
  return chart(chartName('timeline', file.replace(/\.json$/, '')), title, {
    title,
    vconcat: [panel('responses', 'responses/s', COLORS.blue), panel('errors', 'errors/s', COLORS.red), ...(latency.length > 0 ? [latencyPanel] : [])]
  })
}
