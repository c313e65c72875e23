/**
 * 5. Drill timelines: what clients saw second by second while workers were
 * killed, reloaded or Redis stopped, with the drill's events marked on the
 * same time axis, then how long recovery took, the write audit and the verdict.
 */
import type { TopLevelSpec } from 'vega-lite'
import type { DrillEvent, DrillResult } from '../../results.js'
import { chartName, COLORS, renderChart } from '../charts.js'
import { chart, heading, table, text, why, type Block, type Section } from '../document.js'
import { formatCount, formatMs, formatNumber, passFail, NOT_MEASURED } from '../format.js'
import type { FromFile, RunData } from '../read-run.js'
import { auditBlocks, verdictBlock } from '../verdict-blocks.js'

/** One panel of a vertical concatenation (vega-lite exports only the top-level spec type). */
type ConcatPart = Extract<TopLevelSpec, { vconcat: unknown }>['vconcat'][number]

/** One colour per event type, so "kill" is the same red in every drill. */
const EVENT_COLORS: Record<DrillEvent['type'], string> = {
  // Faults are dark (not red: red is the errors line), recoveries green.
  kill: COLORS.ink,
  ready: COLORS.green,
  routed: COLORS.teal,
  'reload-start': COLORS.orange,
  'reload-done': COLORS.green,
  'redis-down': COLORS.ink,
  'redis-up': COLORS.green,
  'first-2xx': COLORS.blue
}

async function timelineChart (file: string, drill: DrillResult): Promise<Block | null> {
  const points = drill.load.timeline ?? []
  if (points.length === 0) return null
  const events = drill.events.map((e) => ({ t: e.t, type: e.type, what: e.target === undefined ? e.type : `${e.type} ${e.target}` }))
  const types = [...new Set(drill.events.map((e) => e.type))]
  const maxT = Math.max(...points.map((p) => p.t), ...events.map((e) => e.t)) + 1
  const x = { field: 't', type: 'quantitative' as const, title: 'seconds since the load started', scale: { domain: [0, maxT], nice: false } }
  // The same event rules on both panels; an empty events list draws nothing.
  const eventLayer = {
    data: { values: events },
    mark: { type: 'rule' as const, strokeWidth: 1.5, opacity: 0.8 },
    encoding: {
      x,
      color: { field: 'type', type: 'nominal' as const, title: 'event', scale: { domain: types, range: types.map((t) => EVENT_COLORS[t]) } },
      tooltip: [{ field: 'what' }, { field: 't' }]
    }
  }
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
      ...(events.length > 0 ? [eventLayer] : [])
    ]
  })
  const title = `drill ${drill.drill}: responses and errors per second (${file})`
  return chart(await renderChart(chartName('timeline', file.replace(/\.json$/, '')), title, {
    title,
    vconcat: [panel('responses', 'responses/s', COLORS.blue), panel('errors', 'errors/s', COLORS.red)]
  }))
}

function durationMs (value: number | null): string {
  return value === null ? 'never' : formatMs(value)
}

function recoveryBlocks (drill: DrillResult): Block[] {
  const blocks: Block[] = []
  if (drill.recoveries !== undefined && drill.recoveries.length > 0) {
    blocks.push(table(['worker killed', 'at s', 'ready after ms', 'routed again after ms'], drill.recoveries.map((r) => [
      r.target, formatNumber(r.killedAtSeconds), durationMs(r.readyAfterMs), durationMs(r.routedAfterMs)
    ])))
  }
  if (drill.restarts !== undefined && Object.keys(drill.restarts).length > 0) {
    const apps = Object.keys(drill.restarts).sort()
    blocks.push(table(['PM2 restarts', ...apps], [['restarts at the end', ...apps.map((a) => formatCount(drill.restarts?.[a]))]]))
  }
  return blocks
}

function eventSummary (drill: DrillResult): string {
  if (drill.events.length === 0) return 'No events were recorded.'
  const counts = new Map<string, number>()
  for (const e of drill.events) counts.set(e.type, (counts.get(e.type) ?? 0) + 1)
  return `Events: ${[...counts].map(([type, n]) => `${n} × ${type}`).join(', ')}.`
}

async function drillBlocks ({ file, result: drill }: FromFile<DrillResult>): Promise<Block[]> {
  const { load } = drill
  const options = Object.entries(drill.options).map(([k, v]) => `${k}=${String(v)}`).join(', ')
  const errorKinds = Object.entries(load.errors.byKind).map(([kind, n]) => `${formatCount(n)} × ${kind}`).join(', ')
  const timeline = await timelineChart(file, drill)
  return [
    heading(`drill ${drill.drill}: ${passFail(drill.verdict.pass)} (${file})`),
    text(`${load.label}: ${formatCount(load.requests)} responses in ${formatNumber(load.durationSeconds)} s (${formatCount(load.rps)} req/s), p99 ${formatMs(load.latencyMs.p99)} ms, ${formatCount(load.errors.total)} client errors${errorKinds === '' ? '' : ` (${errorKinds})`}.${options === '' ? '' : ` Options: ${options}.`}`),
    timeline ?? text(`No per-second timeline was recorded (${NOT_MEASURED}).`),
    text(eventSummary(drill)),
    ...recoveryBlocks(drill),
    ...auditBlocks(drill.audit),
    verdictBlock(drill.verdict)
  ]
}

export async function drillsSection (run: RunData): Promise<Section | null> {
  if (run.drills.length === 0) return null
  const blocks: Block[] = []
  for (const drill of run.drills) blocks.push(...await drillBlocks(drill))
  blocks.push(why(
    'A killed or reloading worker drops what it was doing, but nginx retries those requests on another instance and the idempotency key makes a retried POST apply only once: no client error, and no write counted twice.',
    'When Redis stops, the service answers 503 at once instead of hanging and reconnects by itself when Redis is back, and Redis\'s append-only file keeps every write it acknowledged.'
  ))
  return { id: 'drills', title: 'Drill timelines', blocks }
}
