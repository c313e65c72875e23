/**
 * Writes the report as GitHub-flavoured Markdown. Charts are linked as
 * charts/<name>.svg files next to report.md (GitHub shows an SVG image but
 * strips inline <svg>), so a README can embed the same pictures.
 */
import type { Block, ReportHeader, Section } from './document.js'

export const CHARTS_DIR = 'charts'

/**
 * Keeps labels such as "GET /kv/:key" or "a*b" literal instead of turning into
 * markup, while leaving common text readable in the raw file: an underscore
 * inside a word (http_req_failed) and a "<" before a digit (p(95)<50) are
 * never markup, so they stay as they are.
 */
function escape (value: string): string {
  return value
    .replace(/\\/g, '\\\\')
    .replace(/[*`[\]]/g, (c) => `\\${c}`)
    .replace(/(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])/g, '\\_')
    .replace(/<(?=[A-Za-z/!?])/g, '&lt;')
}

function cell (value: string): string {
  return escape(value).replace(/\|/g, '\\|').replace(/\r?\n/g, ' ')
}

function block (b: Block): string {
  switch (b.type) {
    case 'text':
      return escape(b.text)
    case 'heading':
      return `### ${escape(b.text)}`
    case 'table': {
      const head = `| ${b.columns.map(cell).join(' | ')} |`
      const rule = `| ${b.columns.map(() => '---').join(' | ')} |`
      return [head, rule, ...b.rows.map((row) => `| ${row.map(cell).join(' | ')} |`)].join('\n')
    }
    case 'chart':
      return `![${escape(b.chart.title)}](${CHARTS_DIR}/${b.chart.name}.svg)`
    case 'why':
      // Two paragraphs in one quote: the two lines stay two lines everywhere.
      return `> **Why:** ${escape(b.lines[0])}\n>\n> ${escape(b.lines[1])}`
  }
}

export function toMarkdown (header: ReportHeader, sections: Section[]): string {
  const lines = [`# ${escape(header.title)}`, '']
  const facts = [header.startedAt === null ? null : `Started ${header.startedAt}`, header.host === null ? null : `host: ${header.host}`]
  const factLine = facts.filter((f) => f !== null).join(' · ')
  if (factLine !== '') lines.push(escape(factLine), '')
  lines.push(`Sections: ${sections.map((s) => `[${escape(s.title)}](#${s.id})`).join(' · ')}`, '')
  if (header.skipped.length > 0) {
    lines.push('Files not used:', '', ...header.skipped.map((s) => `- ${escape(s)}`), '')
  }
  for (const section of sections) {
    // An explicit anchor: GitHub's own slugs would do, but other renderers differ.
    lines.push(`<a id="${section.id}"></a>`, '', `## ${escape(section.title)}`, '')
    for (const b of section.blocks) lines.push(block(b), '')
  }
  return lines.join('\n')
}
