/**
 * The one console table of the lab: columns padded to their widest cell, two
 * spaces apart, numbers right-aligned, no borders (so a table pasted into a doc
 * or a terminal log stays readable as plain text). Used by every table the lab
 * prints: verdicts, the stack's status, the lab's summary, and the report's
 * text writer (what the bench prints). Written here rather than taken from a
 * library such as cli-table3: it is twenty lines, keeps the lab's existing
 * borderless look, and adds no dependency.
 */

/** Cells that read as a figure: 71,500 · 0.69× · 12.4 ms · 25.0 % · – or - (none). */
const FIGURE = /^([-−]?[\d,.]+(\s?(ms|s|%|×|µs))?|–|-)$/

export interface TextTableOptions {
  /** A column never widens past this (longer cells stick out), so one long cell cannot push every row. Default 80. */
  maxWidth?: number
}

export function textTable (columns: readonly string[], rows: ReadonlyArray<readonly string[]>, options: TextTableOptions = {}): string {
  const maxWidth = options.maxWidth ?? 80
  const widths = columns.map((title, i) => Math.min(maxWidth, Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length))))
  // A column of figures (its title aside) is right-aligned; any other column reads left to right.
  const right = columns.map((_, i) => rows.length > 0 && rows.every((row) => (row[i] ?? '') === '' || FIGURE.test(row[i] ?? '')))
  const line = (cells: readonly string[]) => columns
    .map((_, i) => (right[i] ? (cells[i] ?? '').padStart(widths[i]!) : (cells[i] ?? '').padEnd(widths[i]!)))
    .join('  ')
    .trimEnd()
  return [line(columns), ...rows.map(line)].join('\n')
}
