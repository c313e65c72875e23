/**
 * Writes report sections as plain text for a terminal: titles underlined,
 * tables through the one console-table helper, the "why" lines last. Charts are
 * left out (they are in report.html and charts/*.svg); every number a chart
 * draws is in a table beside it.
 */
import type { Block, Section } from './document.js'
import { textTable } from './text-table.js'

function block (b: Block): string | null {
  switch (b.type) {
    case 'text':
      return b.text
    case 'heading':
      return `-- ${b.text}`
    case 'table':
      return textTable(b.columns, b.rows)
    case 'chart':
      return null
    case 'why':
      return `Why: ${b.lines[0]}\n     ${b.lines[1]}`
  }
}

export function toText (sections: readonly Section[]): string {
  return sections.map((section) => [
    `${section.title}\n${'='.repeat(section.title.length)}`,
    ...section.blocks.map(block).filter((b) => b !== null)
  ].join('\n\n')).join('\n\n\n')
}
