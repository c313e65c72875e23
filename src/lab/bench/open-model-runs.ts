/**
 * Latency the way SLOs are set: requests at a fixed rate (half the stack's
 * measured max) whatever the answers, through the stack and, when the run has
 * them, through fewer instances at the same rate (where the tail comes from).
 * Interleaved like the cells, once per repetition.
 */
import { runOpenModel } from '../load/open-model.js'
import { runWrk } from '../load/wrk.js'
import { formatCount, formatDecimal } from '../report/format.js'
import type { LoadSummary, OpenModelCost } from '../results.js'
import { median, round } from '../stats.js'
import { costOf } from './cells.js'
import type { Fleet } from './fleet.js'
import { KV_PATH, type CellSpec } from './matrix.js'
import { measureDuring, settle, type Engine, type Measured } from './measure.js'

/** Connections of a paced wrk run: many, so each one's think time (connections / rate) dwarfs the latency. */
export const PACED_CONNECTIONS = 400

/** Cells the open model also visits at the stack's rate, when they are in the run. */
const COMPARISONS = ['nginx-1-kv-redis', 'nginx-2-kv-redis']

/**
 * The open model with wrk: paced at `rate`, after an unmeasured second that opens
 * the connections (their setup would otherwise sit in a short run's p99), and
 * measured like a cell (the CPU of each process group meanwhile). wrk costs
 * about a tenth of the CPU per request of the node:http generator, CPU the stack
 * needs on a 2-core machine.
 */
async function pacedWrk (fleet: Fleet, label: string, url: string, rate: number, seconds: number, signal: AbortSignal): Promise<Measured> {
  const paced = { label: `${label} (wrk, paced)`, url, connections: PACED_CONNECTIONS, paceRps: rate, signal }
  await runWrk({ ...paced, durationSeconds: 1 })
  return measureDuring('wrk', fleet, async () => (await runWrk({ ...paced, durationSeconds: Math.max(1, Math.round(seconds)) })).summary)
}

/** Share of the machine's cores busy during a run, everything included: how near saturation its rate was. */
function busyShare (m: Measured, cpus: number): number | null {
  return m.busy === null || m.seconds <= 0 ? null : m.busy / (cpus * m.seconds)
}

export interface OpenModelRuns {
  /** The stack's run with the median p99. */
  openModel: LoadSummary
  /** The stack's other repetitions, then the comparisons. */
  others: LoadSummary[]
  /**
   * What the stack's runs cost the machine (their medians); null with the node:http
   * generator, whose warm-up runs inside it and whose CPU is this process's.
   */
  cost: OpenModelCost | null
  /** CPU µs per request of the node:http generator (null with wrk). */
  generatorUsPerRequest: number | null
}

export interface OpenModelPlan {
  engine: Engine
  fleet: Fleet
  stackCell: CellSpec
  cells: readonly CellSpec[]
  rate: number
  /** The machine's cores, for the share of them the runs kept busy. */
  cpus: number
  seconds: number
  repetitions: number
  signal: AbortSignal
  log: (line: string) => void
}

export async function runOpenModelRuns (plan: OpenModelPlan): Promise<OpenModelRuns> {
  const { engine, fleet, stackCell, rate, cpus, seconds, repetitions, signal, log } = plan
  const targets = [stackCell, ...plan.cells.filter((c) => COMPARISONS.includes(c.id))]
  log(`open model: GET ${KV_PATH} at ${formatCount(rate)} req/s (half of the stack's median max), ${seconds} s a run, ${repetitions} × {${targets.map((c) => c.id).join(', ')}}`)
  const stackRuns: LoadSummary[] = []
  const stackMeasured: Measured[] = []
  const comparisons: LoadSummary[] = []
  const generatorCpu: number[] = []
  for (let rep = 1; rep <= repetitions; rep++) {
    for (const target of targets) {
      await settle(fleet)
      const label = target === stackCell
        ? `open model, the stack's GET /kv at half of max (${formatCount(rate)} req/s) #${rep}`
        : `open model, ${target.label} at the stack's rate #${rep}`
      const url = fleet.baseUrl(target) + KV_PATH
      let summary: LoadSummary
      let cost = ''
      if (engine === 'wrk') {
        const measured = await pacedWrk(fleet, label, url, rate, seconds, signal)
        summary = measured.summary
        if (target === stackCell) stackMeasured.push(measured)
        const server = costOf([measured]).server
        const busy = busyShare(measured, cpus)
        cost = `  server cpu ${server === null ? '–' : formatCount(server)} µs/req  cores busy ${busy === null ? '–' : `${Math.round(busy * 100)}%`}`
      } else {
        const before = process.cpuUsage()
        summary = await runOpenModel({ label, url, rate, durationSeconds: seconds, warmupSeconds: 1 })
        const used = process.cpuUsage(before)
        if (summary.requests > 0) generatorCpu.push((used.user + used.system) / summary.requests)
      }
      ;(target === stackCell ? stackRuns : comparisons).push(summary)
      const { p50, p90, p99 } = summary.latencyMs
      log(`open model #${rep} ${target.id.padEnd(18)} ${formatCount(summary.rps)} of ${formatCount(rate)} req/s  p50 ${formatDecimal(p50)} p90 ${formatDecimal(p90)} p99 ${formatDecimal(p99)} ms  errors ${summary.errors.total}${cost}`)
    }
  }
  const byP99 = [...stackRuns].sort((a, b) => a.latencyMs.p99 - b.latencyMs.p99)
  const openModel = byP99[Math.floor((byP99.length - 1) / 2)]!
  const shares = stackMeasured.map((m) => busyShare(m, cpus)).filter((v): v is number => v !== null)
  return {
    openModel,
    others: [...stackRuns.filter((r) => r !== openModel), ...comparisons],
    cost: stackMeasured.length === 0 ? null : { cpuUsPerRequest: costOf(stackMeasured), busyShare: shares.length > 0 ? round(median(shares), 3) : null },
    generatorUsPerRequest: generatorCpu.length > 0 ? round(median(generatorCpu), 1) : null
  }
}
