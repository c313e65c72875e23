/**
 * bench.md: the run as Markdown tables — every cell with its ratios, the
 * hot-path choices' effects, the open-model latency, and the targets with their
 * verdicts. The same tables are printed at the end of `scale-lab bench`.
 */
import type { BenchResult, LoadSummary } from '../results.js'
import { STACK_CELL, STACK_DESCRIPTION } from './matrix.js'
import { formatCount, formatNumber, formatRatio } from '../report/format.js'
import { hotPathEffects, ratioRows } from './targets.js'

const missing = (v: number | null | undefined): v is null | undefined => v === null || v === undefined || !Number.isFinite(v)

// The report's number formats, with bench.md's dash for "none".
export const fmtCount = (v: number | null | undefined): string => (missing(v) ? '–' : formatCount(v))
export const fmtNumber = (v: number | null | undefined): string => (missing(v) ? '–' : formatNumber(v))
// A small ratio never reads as 0×.
export const fmtRatio = (v: number | null | undefined): string => (missing(v) ? '–' : formatRatio(v))
export const fmtMs = (v: number | null | undefined): string => (missing(v) ? '–' : v >= 100 ? formatCount(v) : formatNumber(v))
export const verdict = (met: boolean | null): string => (met === true ? 'MET' : met === false ? 'MISSED' : 'not judged')

export function markdownTable (header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const escape = (cell: string) => cell.replace(/\|/g, '\\|')
  return [
    `| ${header.map(escape).join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${row.map(escape).join(' | ')} |`)
  ].join('\n')
}

/**
 * Server CPU µs per request per cell (nginx + API + Redis CPU over responses, median
 * over repetitions): what a request costs, which other work on the machine barely moves.
 */
export type CostMap = ReadonlyMap<string, number>

export function ratioTable (result: BenchResult, cost?: CostMap): string {
  const rows = ratioRows(result.cells).map(({ cell, vsDirect, vsCeiling }) => {
    const spread = cell.runs.length > 1 ? Math.max(...cell.runs.map((r) => r.rps)) / Math.max(1, Math.min(...cell.runs.map((r) => r.rps))) : null
    return [
      cell.id, cell.label, fmtCount(cell.median.rps), fmtRatio(vsDirect), fmtRatio(vsCeiling),
      fmtMs(cell.median.latencyMs.p50), fmtMs(cell.median.latencyMs.p90), fmtMs(cell.median.latencyMs.p99),
      fmtCount(cell.median.errors),
      fmtNumber(cell.cpuSeconds.loadgen), fmtNumber(cell.cpuSeconds.nginx), fmtNumber(cell.cpuSeconds.api), fmtNumber(cell.cpuSeconds.redis),
      ...(cost !== undefined ? [fmtCount(cost.get(cell.id))] : []),
      fmtRatio(spread)
    ]
  })
  return markdownTable(['cell', 'configuration', 'req/s', '× 1 direct', '× ceiling', 'p50 ms', 'p90 ms', 'p99 ms', 'errors',
    'CPU s loadgen', 'CPU s nginx', 'CPU s api', 'CPU s redis', ...(cost !== undefined ? ['server CPU µs/req'] : []), 'max/min over reps'], rows)
}

export function hotPathTable (result: BenchResult, cost?: CostMap): string | null {
  const effects = hotPathEffects(result.cells)
  if (effects.length === 0) return null
  const stack = result.cells.find((c) => c.id === STACK_CELL)
  const rows = effects.map((e) => [
    e.choice, e.with, e.without, fmtCount(stack?.median.rps), fmtCount(e.cell.median.rps), fmtRatio(e.gain),
    `${fmtMs(e.stackP99)} / ${fmtMs(e.variantP99)}`,
    ...(cost !== undefined ? [`${fmtCount(cost.get(STACK_CELL))} / ${fmtCount(cost.get(e.cell.id))}`] : [])
  ])
  return markdownTable(['hot-path choice', 'the stack has', 'variant has', 'stack req/s', 'variant req/s', "the stack's choice is worth", 'p99 ms stack / variant',
    ...(cost !== undefined ? ['server CPU µs/req stack / variant'] : [])], rows)
}

/** The open-model run, and any others at the same rate (through fewer instances) for comparison. */
export function openModelTable (result: BenchResult, others: readonly LoadSummary[] = []): string | null {
  const o = result.openModel
  if (o === null) return null
  const row = (r: LoadSummary) => [
    r.label, fmtCount(r.targetRps), fmtCount(r.rps), fmtCount(r.requests), fmtMs(r.latencyMs.p50), fmtMs(r.latencyMs.p90),
    fmtMs(r.latencyMs.p99), fmtMs(r.latencyMs.max), fmtCount(r.errors.total)
  ]
  return markdownTable(['run', 'asked req/s', 'got req/s', 'requests', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'errors'], [row(o), ...others.map(row)])
}

export function targetsTable (result: BenchResult): string {
  return markdownTable(['target', 'formula', 'value', 'goal', 'verdict'],
    result.targets.map((t) => [t.name, t.formula, fmtNumber(t.value), t.goal, verdict(t.met)]))
}

/** Per cell, CPU seconds per run outside the four groups (medians; others also at worst). */
export interface MachineRow {
  id: string
  softirq: number | null
  others: number | null
  othersMax: number | null
}

export function machineTable (rows: readonly MachineRow[]): string {
  return markdownTable(['cell', 'CPU s softirq (loopback network, no process)', 'CPU s others (median)', 'CPU s others (worst rep)'],
    rows.map((r) => [r.id, fmtNumber(r.softirq), fmtNumber(r.others), fmtNumber(r.othersMax)]))
}

export interface MarkdownExtras {
  notes?: readonly string[]
  machine?: readonly MachineRow[]
  cost?: CostMap
  /** Open-model runs at the stack's rate through other topologies. */
  openModelOthers?: readonly LoadSummary[]
}

/** The four tables of a run, as bench.md has them and `scale-lab bench` prints them (null: nothing to show). */
export function benchTables (result: BenchResult, extra: MarkdownExtras = {}): { cells: string, hotPath: string | null, openModel: string | null, targets: string } {
  return {
    cells: ratioTable(result, extra.cost),
    hotPath: hotPathTable(result, extra.cost),
    openModel: openModelTable(result, extra.openModelOthers),
    targets: targetsTable(result)
  }
}

export function renderBenchMarkdown (result: BenchResult, extra: MarkdownExtras = {}): string {
  const tables = benchTables(result, extra)
  const notes = extra.notes ?? []
  const { meta } = result
  const host = `${meta.host.cpus} cores, Node ${meta.host.node}, nginx ${meta.host.nginx ?? '–'}, Redis ${meta.host.redis ?? '–'}`
  const parts = [
    `# Bench ${meta.run}`,
    '',
    `Started ${meta.startedAt} on ${host}. Engine ${result.engine}, ${result.connections} connections, ` +
      `${result.repetitions} interleaved repetitions of ${result.durationSeconds} s per cell; medians shown.`,
    '',
    `**The stack** in the targets: ${STACK_DESCRIPTION} (cell \`${STACK_CELL}\`).`,
    '',
    'Ratios compare cells measured in this one run, interleaved, so the drift of a shared machine ' +
      '(±30 % run to run here) mostly cancels out; absolute req/s do not carry over to another run. ' +
      'CPU s: median CPU seconds per repetition of each process group, from /proc.',
    '',
    '## Cells',
    '',
    tables.cells
  ]
  if (tables.hotPath !== null) parts.push('', '## Hot-path choices (the stack\'s GET /kv, with and without each)', '', tables.hotPath)
  parts.push('', '## Latency the way SLOs are set: open model at half the stack\'s max', '')
  parts.push(tables.openModel ?? 'Not measured (the stack cell was not in this run).')
  parts.push('', '## Targets', '', tables.targets)
  if (extra.machine !== undefined && extra.machine.length > 0) {
    parts.push('', '## Where else the cores went', '',
      `Per run of ${result.durationSeconds} s on ${meta.host.cpus} cores (${result.durationSeconds * meta.host.cpus} CPU s in all): the kernel's softirqs, ` +
      'and CPU used by processes outside the bench (other work on a shared machine: the noise).', '', machineTable(extra.machine))
  }
  if (notes.length > 0) parts.push('', '## Notes', '', ...notes.map((n) => `- ${n}`))
  return parts.join('\n') + '\n'
}
