/**
 * Writes the report as one self-contained HTML file: inline <style>, inline
 * <svg> charts, no scripts, nothing fetched. It opens from a file, an email
 * attachment or a CI artifact and looks the same offline.
 */
import type { Chart } from './charts.js'
import type { Block, ReportHeader, Section } from './document.js'

function escape (value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

/** Numbers and PASS/FAIL get their own look: right-aligned figures, coloured verdicts. */
function cellClass (value: string): string {
  if (value.startsWith('PASS')) return ' class="pass"'
  if (value.startsWith('FAIL')) return ' class="fail"'
  return /^[-−]?[\d,.]+(\s?(ms|s|%|×))?$/.test(value) ? ' class="num"' : ''
}

function block (b: Block, charts: ReadonlyMap<string, Chart>): string {
  switch (b.type) {
    case 'text':
      return `<p>${escape(b.text)}</p>`
    case 'heading':
      return `<h3>${escape(b.text)}</h3>`
    case 'table': {
      const head = b.columns.map((c) => `<th>${escape(c)}</th>`).join('')
      const body = b.rows.map((row) => `<tr>${row.map((c) => `<td${cellClass(c)}>${escape(c)}</td>`).join('')}</tr>`).join('\n')
      return `<div class="table"><table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table></div>`
    }
    case 'chart':
      // The title is drawn inside the SVG (the Markdown's .svg files need it there); no caption repeats it.
      return `<figure id="chart-${b.chart.name}" aria-label="${escape(b.chart.title)}">${charts.get(b.chart.name)?.svg ?? ''}</figure>`
    case 'why':
      return `<aside class="why"><strong>Why</strong><p>${escape(b.lines[0])}</p><p>${escape(b.lines[1])}</p></aside>`
  }
}

const STYLE = `
  :root { color-scheme: light; --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; --soft: #f6f8fa; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #fff; }
  header, main { max-width: 1100px; margin: 0 auto; padding: 0 24px; }
  header { padding-top: 24px; border-bottom: 1px solid var(--line); }
  h1 { font-size: 1.7rem; margin: 0 0 4px; }
  h2 { font-size: 1.35rem; margin: 40px 0 12px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
  h3 { font-size: 1.05rem; margin: 28px 0 8px; }
  .meta { color: var(--muted); margin: 0 0 12px; }
  nav { margin: 0 0 16px; display: flex; flex-wrap: wrap; gap: 4px 16px; }
  nav a { color: #0969da; text-decoration: none; }
  .skipped { background: #fff8c5; border: 1px solid #d4a72c; padding: 8px 12px; border-radius: 6px; }
  .table { overflow-x: auto; margin: 8px 0 16px; }
  table { border-collapse: collapse; font-size: 0.85rem; }
  th, td { border: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
  th { background: var(--soft); font-weight: 600; }
  td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
  td.pass { color: #1a7f37; font-weight: 600; }
  td.fail { color: #cf222e; font-weight: 600; }
  figure { margin: 12px 0 20px; overflow-x: auto; }
  figure svg { display: block; max-width: 100%; height: auto; }
  .why { background: var(--soft); border-left: 4px solid #0969da; padding: 8px 14px; margin: 16px 0 8px; border-radius: 0 6px 6px 0; }
  .why p { margin: 4px 0; }
  footer { max-width: 1100px; margin: 40px auto; padding: 0 24px; color: var(--muted); font-size: 0.8rem; }
`

/** `charts`: every chart of the sections, drawn (by name). */
export function toHtml (header: ReportHeader, sections: Section[], charts: ReadonlyMap<string, Chart>): string {
  const facts = [header.startedAt === null ? null : `Started ${header.startedAt}`, header.host === null ? null : `host: ${header.host}`]
    .filter((f) => f !== null)
  const skipped = header.skipped.length === 0
    ? ''
    : `<div class="skipped"><strong>Files not used</strong><ul>${header.skipped.map((s) => `<li>${escape(s)}</li>`).join('')}</ul></div>`
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(header.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>${escape(header.title)}</h1>
<p class="meta">${escape(facts.join(' · '))}</p>
<nav>${sections.map((s) => `<a href="#${s.id}">${escape(s.title)}</a>`).join('\n')}</nav>
${skipped}
</header>
<main>
${sections.map((s) => `<section id="${s.id}">\n<h2>${escape(s.title)}</h2>\n${s.blocks.map((b) => block(b, charts)).join('\n')}\n</section>`).join('\n')}
</main>
<footer>Written by scale-lab report from the JSON results in ${escape(header.run)}.</footer>
</body>
</html>
`
}
