/**
 * The targets a bench run is read against: ratios between cells measured in
 * the same run (so the machine's drift cancels out) that measure the design,
 * not the machine, each with what a request cost in the cells it compares.
 */
import type { BenchCell, BenchTarget, LoadSummary, OpenModelCost } from '../results.js'
import { ratio, round } from '../stats.js'
import { DURABLE_INCR_CELL, NO_METRICS_CELL, NO_RATE_LIMIT_CELL, REPLICATED_INCR_CELL, SEED_PEER_CELL, STACK_CELL, TRIVIAL_STACK_CELL } from './matrix.js'

interface TargetSpec {
  id: string
  name: string
  formula: string
  value: number | null
  goal: string
  holds: (value: number) => boolean
  /** false: measured and shown, but not judged on this machine. */
  judged?: boolean
  /** The cells whose cost per request is shown beside it. */
  cells: string[]
  /** Costs measured outside the cells, shown first. */
  cost?: BenchTarget['cost']
}

function target (spec: TargetSpec, cells: readonly BenchCell[]): BenchTarget {
  const { id, name, formula, value, goal, holds, judged = true } = spec
  const cost = [...spec.cost ?? [], ...spec.cells.flatMap((cell) => {
    const found = cells.find((c) => c.id === cell)
    return found === undefined ? [] : [{ cell, cpuUsPerRequest: found.cpuUsPerRequest }]
  })]
  // Judged on the measured value; rounded only to be stored (0.796 is not "≥ 0.8").
  return { id, name, formula, value: value === null ? null : round(value, 2), goal, met: value === null || !judged ? null : holds(value), cost }
}

/** The label of the open model's cost beside its target: the stack, at the open model's rate. */
export const OPEN_MODEL_COST_LABEL = `${STACK_CELL}, open model`

/**
 * The bench's targets, from one run's cells and its open-model run. The open
 * model's target shows what a request cost at its rate (`openModelCost`) before
 * what it cost in the stack's closed-loop cell.
 */
export function computeTargets (cells: readonly BenchCell[], openModel: LoadSummary | null, cpus: number, openModelCost: OpenModelCost | null = null): BenchTarget[] {
  const rps = (id: string) => cells.find((c) => c.id === id)?.median.rps ?? null
  /** A throughput ratio of two cells of this run that must reach `atLeast`. */
  const throughputRatio = (id: string, name: string, [over, under]: [string, string], atLeast: number, formula = `${over} req/s ÷ ${under} req/s`, goal = `≥ ${atLeast}`): TargetSpec =>
    ({ id, name, formula, value: ratio(rps(over), rps(under)), goal, holds: (v) => v >= atLeast, cells: [over, under] })
  return [
    throughputRatio('store-through-stack', "the store's cost through the stack: GET /kv ÷ GET /", [STACK_CELL, TRIVIAL_STACK_CELL], 0.8,
      `${STACK_CELL} req/s ÷ ${TRIVIAL_STACK_CELL} req/s (the same stack, the same run)`),
    throughputRatio('stack-vs-seed', "the stack's GET /kv ÷ the seed's Express process", [STACK_CELL, SEED_PEER_CELL], 2.5),
    {
      ...throughputRatio('cpu-route-2-vs-1', 'CPU-bound route, 2 instances ÷ 1', ['nginx-2-work', 'nginx-1-work'], 1.8, undefined,
        cpus >= 2 ? `≥ 1.8 (${cpus} cores)` : `≥ 1.8 on 2+ cores (not judged: ${cpus} core)`),
      judged: cpus >= 2
    },
    {
      id: 'open-model-p99',
      name: "open-model p99 at half the stack's max",
      formula: `p99 ms of an open-model run at ${STACK_CELL} req/s ÷ 2`,
      value: openModel === null ? null : openModel.latencyMs.p99,
      goal: '≤ 10 ms',
      holds: (v: number) => v <= 10,
      cells: [STACK_CELL],
      ...(openModelCost !== null ? { cost: [{ cell: OPEN_MODEL_COST_LABEL, cpuUsPerRequest: openModelCost.cpuUsPerRequest }] } : {})
    },
    // What every request pays for a feature: the stack as deployed ÷ the same stack with it off.
    throughputRatio('metrics-cost', "metrics' cost: the stack's GET /kv with metrics ÷ without", [STACK_CELL, NO_METRICS_CELL], 0.95,
      `${STACK_CELL} req/s ÷ ${NO_METRICS_CELL} req/s (METRICS=0; the same run)`),
    throughputRatio('rate-limit-cost', "the rate limit's cost: the stack's GET /kv with it ÷ without", [STACK_CELL, NO_RATE_LIMIT_CELL], 0.95,
      `${STACK_CELL} req/s ÷ ${NO_RATE_LIMIT_CELL} req/s (RATE_LIMIT_MAX=0; the same run)`),
    // What a write pays for surviving a failover (issue 14): a price to know, not a goal to meet.
    {
      ...throughputRatio('durable-incr-cost', "durable mode's cost: POST incr through the stack with REDIS_DURABLE=1 ÷ without", [DURABLE_INCR_CELL, REPLICATED_INCR_CELL], 0,
        `${DURABLE_INCR_CELL} req/s ÷ ${REPLICATED_INCR_CELL} req/s (both on a primary + 1 replica found through a Sentinel; the same run)`, 'none: reported, not judged'),
      judged: false
    }
  ].map((spec) => target(spec, cells))
}

/** Share of a run's requests that failed, counting socket errors as requests too. */
export function errorRate (run: LoadSummary): number {
  const socketErrors = Object.entries(run.errors.byKind).filter(([kind]) => !kind.startsWith('non2xx')).reduce((a, [, n]) => a + n, 0)
  const attempts = run.requests + socketErrors
  return attempts === 0 ? 1 : run.errors.total / attempts
}
