/**
 * The report as data: sections of blocks that both writers (Markdown and HTML)
 * render. Sections decide what to say; writers decide only how it looks, so
 * report.md and report.html can never disagree on a number.
 */

/** A chart already rendered to SVG by charts.ts. */
export interface Chart {
  /** File-safe and unique in the report: charts/<name>.svg, and the HTML id. */
  name: string
  title: string
  svg: string
  /** What vega-lite or vega warned about while rendering it (normally none). */
  warnings: string[]
}

export type Block =
  | { type: 'text', text: string }
  /** A sub-heading inside a section (one drill, one check...). */
  | { type: 'heading', text: string }
  | { type: 'table', columns: string[], rows: string[][] }
  | { type: 'chart', chart: Chart }
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
export const chart = (value: Chart): Block => ({ type: 'chart', chart: value })
export const why = (first: string, second: string): Block => ({ type: 'why', lines: [first, second] })
