/**
 * What a bench run is read against: ratios between cells measured in the same
 * run (so the machine's drift cancels out), the targets, and each hot-path
 * choice's effect on the stack's GET /kv. Pure functions of the cells.
 */
import type { BenchCell, BenchTarget, LoadSummary } from '../results.js'
import { allCells, CEILING_CELL, DIRECT_CELL, SEED_PEER_CELL, STACK_CELL, type CellSpec } from './matrix.js'
import { median, ratio, round } from '../stats.js'

/** A cell's medians over its repetitions (req/s, each percentile, errors). */
export function medianOf (runs: readonly LoadSummary[]): BenchCell['median'] {
  return {
    rps: round(median(runs.map((r) => r.rps)), 1),
    latencyMs: {
      p50: round(median(runs.map((r) => r.latencyMs.p50)), 3),
      p90: round(median(runs.map((r) => r.latencyMs.p90)), 3),
      p99: round(median(runs.map((r) => r.latencyMs.p99)), 3)
    },
    errors: median(runs.map((r) => r.errors.total))
  }
}

export function medianCpu (samples: ReadonlyArray<BenchCell['cpuSeconds']>): BenchCell['cpuSeconds'] {
  const of = (key: keyof BenchCell['cpuSeconds']) => round(median(samples.map((s) => s[key])), 2)
  return { loadgen: of('loadgen'), nginx: of('nginx'), api: of('api'), redis: of('redis') }
}

const rpsOf = (cells: readonly BenchCell[], id: string): number | null => cells.find((c) => c.id === id)?.median.rps ?? null

export interface RatioRow {
  cell: BenchCell
  /** req/s ÷ 1 instance direct on GET /. */
  vsDirect: number | null
  /** req/s ÷ nginx alone. */
  vsCeiling: number | null
}

export function ratioRows (cells: readonly BenchCell[]): RatioRow[] {
  const direct = rpsOf(cells, DIRECT_CELL)
  const ceiling = rpsOf(cells, CEILING_CELL)
  return cells.map((cell) => ({ cell, vsDirect: ratio(cell.median.rps, direct), vsCeiling: ratio(cell.median.rps, ceiling) }))
}

function target (name: string, formula: string, value: number | null, goal: string, holds: (v: number) => boolean, applies = true): BenchTarget {
  // Judged on the measured value; rounded only to be shown (0.746 is not "≥ 0.75").
  return { name, formula, value: value === null ? null : round(value, 2), goal, met: value === null || !applies ? null : holds(value) }
}

/** The four targets, from one run's cells and open-model run. */
export function computeTargets (cells: readonly BenchCell[], openModel: LoadSummary | null, cpus: number): BenchTarget[] {
  const stack = rpsOf(cells, STACK_CELL)
  return [
    target("stack GET /kv ÷ the seed's peer", `${STACK_CELL} req/s ÷ ${SEED_PEER_CELL} req/s`,
      ratio(stack, rpsOf(cells, SEED_PEER_CELL)), '≥ 3', (v) => v >= 3),
    target('stack GET /kv ÷ 1 instance direct (GET /)', `${STACK_CELL} req/s ÷ ${DIRECT_CELL} req/s`,
      ratio(stack, rpsOf(cells, DIRECT_CELL)), '≥ 0.75', (v) => v >= 0.75),
    target('CPU-bound route, 2 instances ÷ 1', 'nginx-2-work req/s ÷ nginx-1-work req/s',
      ratio(rpsOf(cells, 'nginx-2-work'), rpsOf(cells, 'nginx-1-work')),
      cpus >= 2 ? `≥ 1.8 (${cpus} cores)` : `≥ 1.8 on 2+ cores (not judged: ${cpus} core)`, (v) => v >= 1.8, cpus >= 2),
    target('p99 at half of max through the stack (open model)', `p99 ms of an open-model run at ${STACK_CELL} req/s ÷ 2`,
      openModel === null ? null : openModel.latencyMs.p99, '≤ 10 ms', (v) => v <= 10)
  ]
}

export interface HotPathEffect {
  cell: BenchCell
  choice: string
  with: string
  without: string
  /** The stack's req/s ÷ the variant's: how much the choice the stack makes is worth (> 1: it helps). */
  gain: number | null
  stackP99: number | null
  variantP99: number
}

/** Each hot-path variant against the stack measured in the same run. */
export function hotPathEffects (cells: readonly BenchCell[], specs: readonly CellSpec[] = allCells()): HotPathEffect[] {
  const stack = cells.find((c) => c.id === STACK_CELL) ?? null
  const effects: HotPathEffect[] = []
  for (const cell of cells) {
    const spec = specs.find((s) => s.id === cell.id)?.hotPath
    if (spec === undefined) continue
    effects.push({
      cell,
      ...spec,
      gain: ratio(stack?.median.rps, cell.median.rps),
      stackP99: stack?.median.latencyMs.p99 ?? null,
      variantP99: cell.median.latencyMs.p99
    })
  }
  return effects
}

/** Share of a run's requests that failed, counting socket errors as requests too. */
export function errorRate (run: LoadSummary): number {
  const socketErrors = Object.entries(run.errors.byKind).filter(([kind]) => !kind.startsWith('non2xx')).reduce((a, [, n]) => a + n, 0)
  const attempts = run.requests + socketErrors
  return attempts === 0 ? 1 : run.errors.total / attempts
}
