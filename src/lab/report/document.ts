/**
 * The report as data: sections of blocks that every writer (Markdown, HTML,
 * terminal text) renders. Sections decide what to say; writers decide only how
 * it looks, so report.md, report.html and the bench's console output can never
 * disagree on a number.
 */
import type { TopLevelSpec } from 'vega-lite'

/** A chart to draw: its vega-lite spec, rendered to SVG only by the writers that show pictures (charts.ts). */
export interface ChartSpec {
  /** File-safe and unique in the report: charts/<name>.svg, and the HTML id. */
  name: string
  title: string
  spec: TopLevelSpec
}

export type Block =
  | { type: 'text', text: string }
  /** A sub-heading inside a section (one drill, one check...). */
  | { type: 'heading', text: string }
  | { type: 'table', columns: string[], rows: string[][] }
  | { type: 'chart', chart: ChartSpec }
  /** The two plain lines that close every section. */
  | { type: 'why', lines: [string, string] }

export interface Section {
  /** Stable id: the HTML anchor and what renderReport returns. */
  id: string
  title: string
  blocks: Block[]
}

/** What the title of both documents says. */
export interface ReportHeader {
  title: string
  run: string
  startedAt: string | null
  host: string | null
  /** Files that looked like results but could not be used, and why. */
  skipped: string[]
}

export const text = (value: string): Block => ({ type: 'text', text: value })
export const heading = (value: string): Block => ({ type: 'heading', text: value })
export const table = (columns: string[], rows: string[][]): Block => ({ type: 'table', columns, rows })
export const chart = (name: string, title: string, spec: TopLevelSpec): Block => ({ type: 'chart', chart: { name, title, spec } })
export const why = (first: string, second: string): Block => ({ type: 'why', lines: [first, second] })

/** A section of one list of blocks per result file, closed by its why; null when the run holds none. */
export function resultsSection<T> (id: string, title: string, results: T[], blocksOf: (result: T) => Block[], whyLines: [string, string]): Section | null {
  if (results.length === 0) return null
  return { id, title, blocks: [...results.flatMap((result) => blocksOf(result)), why(...whyLines)] }
}
