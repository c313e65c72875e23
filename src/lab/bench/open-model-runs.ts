/**
 * Latency the way SLOs are set: requests at a fixed rate (half the stack's
 * measured max) whatever the answers, through the stack and, when the run has
 * them, through fewer instances at the same rate (where the tail comes from).
 * Interleaved like the cells, once per repetition.
 */
import { runOpenModel } from '../load/open-model.js'
import { runWrk } from '../load/wrk.js'
import { formatCount, formatDecimal } from '../report/format.js'
import type { LoadSummary } from '../results.js'
import { median, round } from '../stats.js'
import type { Fleet } from './fleet.js'
import { KV_PATH, type CellSpec } from './matrix.js'
import { settle, type Engine } from './measure.js'

/** Connections of a paced wrk run: many, so each one's think time (connections / rate) dwarfs the latency. */
export const PACED_CONNECTIONS = 400

/** Cells the open model also visits at the stack's rate, when they are in the run. */
const COMPARISONS = ['nginx-1-kv-redis', 'nginx-2-kv-redis']

/**
 * The open model with wrk: paced at `rate`, after an unmeasured second that opens
 * the connections (their setup would otherwise sit in a short run's p99). wrk costs
 * about a tenth of the CPU per request of the node:http generator, CPU the stack
 * needs on a 2-core machine.
 */
async function pacedWrk (label: string, url: string, rate: number, seconds: number, signal: AbortSignal): Promise<LoadSummary> {
  const paced = { label: `${label} (wrk, paced)`, url, connections: PACED_CONNECTIONS, paceRps: rate, signal }
  await runWrk({ ...paced, durationSeconds: 1 })
  const { summary } = await runWrk({ ...paced, durationSeconds: Math.max(1, Math.round(seconds)) })
  return summary
}

export interface OpenModelRuns {
  /** The stack's run with the median p99. */
  openModel: LoadSummary
  /** The stack's other repetitions, then the comparisons. */
  others: LoadSummary[]
  /** CPU µs per request of the node:http generator (null with wrk). */
  generatorUsPerRequest: number | null
}

export interface OpenModelPlan {
  engine: Engine
  fleet: Fleet
  stackCell: CellSpec
  cells: readonly CellSpec[]
  rate: number
  seconds: number
  repetitions: number
  signal: AbortSignal
  log: (line: string) => void
}

export async function runOpenModelRuns (plan: OpenModelPlan): Promise<OpenModelRuns> {
  const { engine, fleet, stackCell, rate, seconds, repetitions, signal, log } = plan
  const targets = [stackCell, ...plan.cells.filter((c) => COMPARISONS.includes(c.id))]
  log(`open model: GET ${KV_PATH} at ${formatCount(rate)} req/s (half of the stack's median max), ${seconds} s a run, ${repetitions} × {${targets.map((c) => c.id).join(', ')}}`)
  const stackRuns: LoadSummary[] = []
  const comparisons: LoadSummary[] = []
  const generatorCpu: number[] = []
  for (let rep = 1; rep <= repetitions; rep++) {
    for (const target of targets) {
      await settle(fleet)
      const label = target === stackCell
        ? `open model, the stack's GET /kv at half of max (${formatCount(rate)} req/s) #${rep}`
        : `open model, ${target.label} at the stack's rate #${rep}`
      const url = fleet.baseUrl(target) + KV_PATH
      const before = process.cpuUsage()
      const summary = engine === 'wrk'
        ? await pacedWrk(label, url, rate, seconds, signal)
        : await runOpenModel({ label, url, rate, durationSeconds: seconds, warmupSeconds: 1 })
      const used = process.cpuUsage(before)
      if (engine !== 'wrk' && summary.requests > 0) generatorCpu.push((used.user + used.system) / summary.requests)
      ;(target === stackCell ? stackRuns : comparisons).push(summary)
      const { p50, p90, p99 } = summary.latencyMs
      log(`open model #${rep} ${target.id.padEnd(18)} ${formatCount(summary.rps)} of ${formatCount(rate)} req/s  p50 ${formatDecimal(p50)} p90 ${formatDecimal(p90)} p99 ${formatDecimal(p99)} ms  errors ${summary.errors.total}`)
    }
  }
  const byP99 = [...stackRuns].sort((a, b) => a.latencyMs.p99 - b.latencyMs.p99)
  const openModel = byP99[Math.floor((byP99.length - 1) / 2)]!
  return {
    openModel,
    others: [...stackRuns.filter((r) => r !== openModel), ...comparisons],
    generatorUsPerRequest: generatorCpu.length > 0 ? round(median(generatorCpu), 1) : null
  }
}
