/**
 * 5. Drill timelines: what clients saw second by second while workers were
 * killed, reloaded or Redis stopped, with the drill's events marked on the
 * same time axis, then how long recovery took (and any per-fault rows the drill
 * stored), the write audit and the verdict.
 */
import type { DrillResult } from '../../results.js'
import { heading, resultsSection, table, text, type Block, type Section } from '../document.js'
import { formatCount, formatMs, formatNumber, passFail, NOT_MEASURED } from '../format.js'
import type { FromFile, RunData } from '../read-run.js'
import { auditBlocks, verdictBlock } from '../verdict-blocks.js'
import { prometheusBlocks } from './drill-prometheus.js'
import { timelineChart } from './drill-timeline.js'

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

/** A per-fault cell as people read it; a key a row lacks is left blank. */
function faultCell (value: string | number | boolean | null | undefined): string {
  if (value === undefined) return ''
  if (value === null) return '–'
  if (typeof value === 'number') return formatNumber(value)
  if (typeof value === 'boolean') return value ? 'yes' : 'no'
  return value
}

/** The drill's per-fault rows (one per kill, per failover...), whatever their keys: one column per key, in the order first seen. */
function faultBlocks (drill: DrillResult): Block[] {
  const rows = drill.faults ?? []
  if (rows.length === 0) return []
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))]
  return [table(columns, rows.map((row) => columns.map((key) => faultCell(row[key]))))]
}

function eventSummary (drill: DrillResult): string {
  if (drill.events.length === 0) return 'No events were recorded.'
  const counts = new Map<string, number>()
  for (const e of drill.events) counts.set(e.type, (counts.get(e.type) ?? 0) + 1)
  return `Events: ${[...counts].map(([type, n]) => `${n} × ${type}`).join(', ')}.`
}

function drillBlocks ({ file, result: drill }: FromFile<DrillResult>): Block[] {
  const { load } = drill
  const options = Object.entries(drill.options).map(([k, v]) => `${k}=${String(v)}`).join(', ')
  const errorKinds = Object.entries(load.errors.byKind).map(([kind, n]) => `${formatCount(n)} × ${kind}`).join(', ')
  const timeline = timelineChart(file, drill)
  return [
    heading(`drill ${drill.drill}: ${passFail(drill.verdict.pass)} (${file})`),
    text(`${load.label}: ${formatCount(load.requests)} responses in ${formatNumber(load.durationSeconds)} s (${formatCount(load.rps)} req/s), p99 ${formatMs(load.latencyMs.p99)} ms, ${formatCount(load.errors.total)} client errors${errorKinds === '' ? '' : ` (${errorKinds})`}.${options === '' ? '' : ` Options: ${options}.`}`),
    timeline ?? text(`No per-second timeline was recorded (${NOT_MEASURED}).`),
    ...prometheusBlocks(file, drill),
    text(eventSummary(drill)),
    ...recoveryBlocks(drill),
    ...faultBlocks(drill),
    ...auditBlocks(drill.audit),
    verdictBlock(drill.verdict)
  ]
}

export function drillsSection (run: RunData): Section | null {
  const failover = run.drills.some((d) => d.result.drill === 'failover')
  return resultsSection('drills', 'Drill timelines', run.drills, drillBlocks, [
    'A killed or reloading worker drops what it was doing, but nginx retries those requests on another instance and the idempotency key makes a retried POST apply only once: no client error, and no write counted twice.',
    failover
      ? 'When the Redis primary dies, the Sentinels promote a replica within seconds and the instances follow it by themselves; replication is asynchronous, so what the old primary acknowledged last can be lost (its idempotency records with it) unless durable mode waits for a replica first.'
      : 'When Redis stops, the service answers 503 at once instead of hanging and reconnects by itself when Redis is back, and Redis\'s append-only file keeps every write it acknowledged.'
  ])
}
