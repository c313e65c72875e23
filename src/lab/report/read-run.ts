/**
 * Reads a run folder: every *.json, recognised by its `kind` (results.ts) or,
 * for k6, by its name (k6-<script>.json, written by k6's handleSummary, which
 * has no `kind`). Anything else is ignored, so the report's own outputs and
 * stray files never break it. A file that claims a kind is validated against
 * its TypeBox schema (results.ts); one that does not fit (another version of
 * the lab wrote it) is set aside with the field that does not, and the report
 * says so.
 */
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { TSchema } from 'typebox'
import { BenchResultSchema, CheckResultSchema, DrillResultSchema, LoadResultSchema, OverloadResultSchema, problemsOf, RateLimitResultSchema, type AnyResult, type BenchResult, type CheckResult, type DrillResult, type LoadResult, type OverloadResult, type RateLimitResult } from '../results.js'

/** A result and the file it came from (chart names and headings use the file). */
export interface FromFile<T> {
  file: string
  result: T
}

export interface RunData {
  dir: string
  bench: FromFile<BenchResult> | null
  drills: Array<FromFile<DrillResult>>
  checks: Array<FromFile<CheckResult>>
  loads: Array<FromFile<LoadResult>>
  overloads: Array<FromFile<OverloadResult>>
  rateLimits: Array<FromFile<RateLimitResult>>
  /** k6 summaries as parsed JSON: k6-summary.ts reads them defensively. */
  k6: Array<FromFile<Record<string, unknown>> & { script: string }>
  /** "<file>: <why it was not used>" */
  skipped: string[]
}

/** The run folder held nothing the report knows how to show (or was not there). */
export class NothingToReportError extends Error {
  override name = 'NothingToReportError'
}

const K6_FILE = /^k6-(.+)\.json$/

/** The schema a file claiming each `kind` is validated against: every kind of results.ts, once. */
const SCHEMAS = {
  bench: BenchResultSchema,
  drill: DrillResultSchema,
  check: CheckResultSchema,
  load: LoadResultSchema,
  overload: OverloadResultSchema,
  'rate-limit': RateLimitResultSchema
} satisfies Record<AnyResult['kind'], TSchema>
type ResultKind = keyof typeof SCHEMAS

const isResultKind = (kind: unknown): kind is ResultKind => typeof kind === 'string' && Object.hasOwn(SCHEMAS, kind)

/** The order a newcomer meets them in: kill first, the store last; drills not listed come after, by name. */
const DRILL_ORDER = ['kill', 'reload', 'redis']
const STORE_ORDER = ['memory', 'redis']

/** Shows at most a few problems: one wrong field is often repeated per cell. */
function summarise (problems: string[]): string {
  const shown = problems.slice(0, 3).join('; ')
  return problems.length > 3 ? `${shown}; and ${problems.length - 3} more` : shown
}

/** A run with nothing in it yet: what readRun fills, or a caller holding one result (the bench printing its own). */
export function emptyRun (dir: string): RunData {
  return { dir, bench: null, drills: [], checks: [], loads: [], overloads: [], rateLimits: [], k6: [], skipped: [] }
}

export async function readRun (dir: string): Promise<RunData> {
  const names = (await readdir(dir)).filter((name) => name.endsWith('.json')).sort()
  const run = emptyRun(dir)
  const benches: Array<FromFile<BenchResult>> = []
  /** Where each kind goes: its list in the run (every bench until one is chosen, below). */
  const lists: { [Kind in ResultKind]: Array<FromFile<Extract<AnyResult, { kind: Kind }>>> } = {
    bench: benches, drill: run.drills, check: run.checks, load: run.loads, overload: run.overloads, 'rate-limit': run.rateLimits
  }

  for (const file of names) {
    let data: unknown
    try {
      data = JSON.parse(await readFile(join(dir, file), 'utf8'))
    } catch (err) {
      run.skipped.push(`${file}: not valid JSON (${(err as Error).message})`)
      continue
    }
    if (!isPlainObject(data)) continue

    const kind = data.kind
    if (isResultKind(kind)) {
      // Validated against the contract; one that does not fit is set aside, with why.
      const problems = problemsOf(SCHEMAS[kind], data)
      if (problems.length > 0) run.skipped.push(`${file}: ${summarise(problems)}`)
      else (lists[kind] as Array<FromFile<AnyResult>>).push({ file, result: data as AnyResult })
      continue
    }
    const k6 = K6_FILE.exec(file)
    if (k6 === null || kind !== undefined) continue
    if (isPlainObject(data.metrics)) run.k6.push({ file, script: k6[1] as string, result: data })
    else run.skipped.push(`${file}: named like a k6 summary but has no "metrics" object`)
  }

  // A run is one bench: prefer bench.json, and say which others were left out.
  const chosen = benches.find((b) => b.file === 'bench.json') ?? benches[0]
  run.bench = chosen ?? null
  for (const other of benches) {
    if (other !== chosen) run.skipped.push(`${other.file}: a run holds one bench; ${chosen?.file} is the one shown`)
  }

  const rank = (order: string[], value: string): number => order.includes(value) ? order.indexOf(value) : order.length
  run.drills.sort((a, b) => rank(DRILL_ORDER, a.result.drill) - rank(DRILL_ORDER, b.result.drill) || a.result.drill.localeCompare(b.result.drill))
  run.checks.sort((a, b) => rank(STORE_ORDER, a.result.store) - rank(STORE_ORDER, b.result.store))
  return run
}

function isPlainObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** True when the folder held nothing the report can show. */
export function isEmpty (run: RunData): boolean {
  return run.bench === null && run.drills.length === 0 && run.checks.length === 0 && run.loads.length === 0 && run.overloads.length === 0 && run.rateLimits.length === 0 && run.k6.length === 0
}
