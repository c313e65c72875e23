/**
 * From the runs of each cell to what bench.json stores: medians over the
 * repetitions, what a request cost each process group, where else the cores
 * went, and the ratios against the baselines, found once by id. Pure functions,
 * computed when the bench runs: the report shows them as stored.
 */
import type { BenchCell, BenchResult, CpuCost, CpuSeconds, HotPathEffect, LoadSummary } from '../results.js'
import { median, ratio, round } from '../stats.js'
import { CEILING_CELL, DIRECT_CELL, STACK_CELL, type CellSpec } from './matrix.js'
import type { Measured } from './measure.js'

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

export function medianCpu (samples: readonly CpuSeconds[]): CpuSeconds {
  const of = (key: keyof CpuSeconds) => round(median(samples.map((s) => s[key])), 2)
  return { loadgen: of('loadgen'), nginx: of('nginx'), api: of('api'), redis: of('redis') }
}

/** The median of the values measured (nulls left out), rounded; null when none was. */
function medianOrNull (values: ReadonlyArray<number | null>, digits: number): number | null {
  const measured = values.filter((v): v is number => v !== null && Number.isFinite(v))
  return measured.length === 0 ? null : round(median(measured), digits)
}

/**
 * Server CPU µs per request, per group and in all (nginx + API + Redis), median over
 * the repetitions. The load generator and the kernel's softirqs are left out, and
 * other work on the machine moves it far less than it moves req/s.
 */
export function costOf (measured: readonly Measured[]): CpuCost {
  const perRequest = (pick: (cpu: CpuSeconds) => number) => medianOrNull(measured.map((m) =>
    m.summary.requests > 0 ? pick(m.cpu) / m.summary.requests * 1e6 : null), 1)
  return {
    server: perRequest((c) => c.nginx + c.api + c.redis),
    nginx: perRequest((c) => c.nginx),
    api: perRequest((c) => c.api),
    redis: perRequest((c) => c.redis)
  }
}

/** A ratio kept precise enough for any display (0.0025×), not to the last float digit. */
const ratioOf = (a: number | null | undefined, b: number | null | undefined): number | null => {
  const value = ratio(a, b)
  return value === null ? null : Number(value.toPrecision(4))
}

/** Every cell of the run, and which of them the ratio columns compare with (by id). */
export function summariseCells (specs: readonly CellSpec[], runs: ReadonlyMap<string, readonly Measured[]>): Pick<BenchResult, 'cells' | 'baselines'> {
  const present = (id: string) => specs.some((s) => s.id === id) ? id : null
  const baselines = { direct: present(DIRECT_CELL), ceiling: present(CEILING_CELL) }
  const medians = new Map(specs.map((spec) => [spec.id, medianOf((runs.get(spec.id) ?? []).map((m) => m.summary))]))
  const rpsOf = (id: string | null) => (id === null ? null : medians.get(id)?.rps ?? null)
  const cells = specs.map((spec): BenchCell => {
    const measured = runs.get(spec.id) ?? []
    const rps = measured.map((m) => m.summary.rps)
    const median = medians.get(spec.id)!
    const others = measured.map((m) => m.others)
    return {
      id: spec.id,
      label: spec.label,
      group: spec.group,
      via: spec.via,
      instances: spec.instances,
      ...(spec.keepalive !== undefined ? { keepalive: spec.keepalive } : {}),
      route: spec.route,
      ...(spec.store !== undefined ? { store: spec.store } : {}),
      runs: measured.map((m) => m.summary),
      median,
      cpuSeconds: medianCpu(measured.map((m) => m.cpu)),
      cpuUsPerRequest: costOf(measured),
      ratios: {
        vsDirect: ratioOf(median.rps, rpsOf(baselines.direct)),
        vsCeiling: ratioOf(median.rps, rpsOf(baselines.ceiling)),
        spread: rps.length > 1 ? round(Math.max(...rps) / Math.max(1, Math.min(...rps)), 2) : null
      },
      machine: {
        softirq: medianOrNull(measured.map((m) => m.softirq), 2),
        others: medianOrNull(others, 2),
        othersWorst: others.some((v) => v !== null) ? Math.max(...others.filter((v): v is number => v !== null)) : null
      }
    }
  })
  return { cells, baselines }
}

/** Each hot-path variant in the run against the stack measured in the same run. */
export function hotPathEffects (cells: readonly BenchCell[], specs: readonly CellSpec[]): HotPathEffect[] {
  const stack = cells.find((c) => c.id === STACK_CELL) ?? null
  return cells.flatMap((cell) => {
    const spec = specs.find((s) => s.id === cell.id)?.hotPath
    if (spec === undefined) return []
    return [{
      cell: cell.id,
      ...spec,
      gain: ratioOf(stack?.median.rps, cell.median.rps),
      stackRps: stack?.median.rps ?? null,
      variantRps: cell.median.rps,
      stackP99: stack?.median.latencyMs.p99 ?? null,
      variantP99: cell.median.latencyMs.p99,
      stackUsPerRequest: stack?.cpuUsPerRequest.server ?? null,
      variantUsPerRequest: cell.cpuUsPerRequest.server
    }]
  })
}
