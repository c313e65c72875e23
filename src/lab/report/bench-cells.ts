/**
 * Finds the cells the bench is read against, by their fields rather than by
 * id, so a producer may rename ids freely: the reference "1 instance direct,
 * trivial route" and the nginx-only ceiling. And groups cells into scaling
 * series (same route, store and keepalive; only the instance count varies).
 */
import type { BenchCell } from '../results.js'

/** `GET /` as the bench names it; a bare `/` is taken to mean the same. */
function isTrivialRoute (route: string): boolean {
  const r = route.trim()
  return r === 'GET /' || r === '/'
}

/** The first cell served by one instance directly (no balancer) on GET /. */
export function findDirectBaseline (cells: BenchCell[]): BenchCell | null {
  return cells.find((c) => c.via === 'direct' && c.instances === 1 && isTrivialRoute(c.route)) ?? null
}

/** The first nginx-alone cell: the most req/s anything behind nginx can reach here. */
export function findCeiling (cells: BenchCell[]): BenchCell | null {
  return cells.find((c) => c.via === 'nginx-only') ?? null
}

export interface ScalingSeries {
  /** What stays fixed along the curve, in words: "GET /work?ms=5, keepalive". */
  name: string
  /** One point per instance count, ascending. */
  points: Array<{ instances: number, rps: number, cell: BenchCell }>
  /** Req/s per instance at the smallest count: ideal(n) = perInstance × n. */
  perInstance: number
  /** Cells left off because another cell already had that instance count. */
  duplicates: BenchCell[]
}

/**
 * The scaling curves of one group. Only cells behind nginx scale out, so only
 * they are drawn; a series needs at least two instance counts to be a curve.
 * The ideal is linear from the smallest count measured (normally 1).
 */
export function scalingSeries (cells: BenchCell[], group: BenchCell['group']): ScalingSeries[] {
  const byKey = new Map<string, BenchCell[]>()
  for (const cell of cells) {
    if (cell.group !== group || cell.via !== 'nginx' || cell.instances === null || cell.instances < 1) continue
    const parts = [cell.route, cell.store ?? '', cell.keepalive === false ? 'no keepalive' : '']
    const key = parts.filter(Boolean).join(', ')
    byKey.set(key, [...(byKey.get(key) ?? []), cell])
  }
  const series: ScalingSeries[] = []
  for (const [name, members] of byKey) {
    const points: ScalingSeries['points'] = []
    const duplicates: BenchCell[] = []
    for (const cell of members) {
      if (points.some((p) => p.instances === cell.instances)) duplicates.push(cell)
      else points.push({ instances: cell.instances as number, rps: cell.median.rps, cell })
    }
    if (points.length < 2) continue
    points.sort((a, b) => a.instances - b.instances)
    const first = points[0] as ScalingSeries['points'][number]
    series.push({ name, points, perInstance: first.rps / first.instances, duplicates })
  }
  return series
}
