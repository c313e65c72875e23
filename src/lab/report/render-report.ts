/**
 * `scale-lab report`: reads a run folder and writes report.md, report.html and
 * charts/*.svg into it. Sections appear only when the folder holds their data,
 * in the order a newcomer should read them.
 */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises'
import { basename, join, resolve } from 'node:path'
import type { RunMeta } from '../results.js'
import { renderChart, type Chart } from './charts.js'
import type { ReportHeader } from './document.js'
import { isEmpty, NothingToReportError, readRun, type RunData } from './read-run.js'
import { buildSections } from './sections/all.js'
import { toHtml } from './to-html.js'
import { CHARTS_DIR, toMarkdown } from './to-markdown.js'

export { NothingToReportError }

export interface RenderedReport {
  markdownPath: string
  htmlPath: string
  /** Ids of the sections written, in order: summary, throughput, latency, scaling, drills, consistency, load, k6. */
  sections: string[]
  /** Result files that could not be used, with the reason (also shown in the report). */
  skipped: string[]
  /** What the chart libraries warned about (normally none). */
  warnings: string[]
}

function metas (run: RunData): RunMeta[] {
  return [
    ...(run.bench === null ? [] : [run.bench.result.meta]),
    ...run.drills.map((d) => d.result.meta),
    ...run.checks.map((c) => c.result.meta),
    ...run.loads.map((l) => l.result.meta),
    ...run.rateLimits.map((r) => r.result.meta)
  ]
}

/** "2026-11-28 01:20 UTC": the ISO time, readable, or as written if it does not parse. */
function readableTime (iso: string): string {
  const time = new Date(iso)
  return Number.isNaN(time.getTime()) ? iso : `${time.toISOString().slice(0, 16).replace('T', ' ')} UTC`
}

function header (run: RunData): ReportHeader {
  const all = metas(run)
  const first = all[0]
  const name = first?.run ?? basename(resolve(run.dir))
  // The earliest start: the run began with its first command.
  const startedAt = all.map((m) => m.startedAt).sort()[0]
  let host: string | null = null
  if (first !== undefined) {
    const { cpus, node, nginx, redis } = first.host
    host = [`${cpus} CPU cores`, `Node ${node}`, ...(nginx === undefined ? [] : [`nginx ${nginx}`]), ...(redis === undefined ? [] : [`Redis ${redis}`])].join(', ')
  }
  return { title: `scale-lab report: ${name}`, run: name, startedAt: startedAt === undefined ? null : readableTime(startedAt), host, skipped: run.skipped }
}

/** Replaces the charts of an earlier render, so no stale picture stays behind. */
async function writeCharts (dir: string, charts: Chart[]): Promise<void> {
  await mkdir(dir, { recursive: true })
  for (const old of (await readdir(dir)).filter((f) => f.endsWith('.svg'))) await rm(join(dir, old))
  for (const chart of charts) await writeFile(join(dir, `${chart.name}.svg`), chart.svg)
}

export async function renderReport (runDir: string): Promise<RenderedReport> {
  const run = await readRun(runDir).catch((err: NodeJS.ErrnoException) => {
    throw err.code === 'ENOENT' || err.code === 'ENOTDIR' ? new NothingToReportError(`${runDir} is not a folder of lab results`) : err
  })
  if (isEmpty(run)) {
    const why = run.skipped.length > 0 ? ` Files not used: ${run.skipped.join('; ')}.` : ''
    throw new NothingToReportError(`nothing to report in ${runDir}: no bench.json, <drill>.json, check-<store>.json, load.json or k6-<script>.json with data.${why}`)
  }

  const sections = buildSections(run)
  const charts: Chart[] = []
  for (const section of sections) {
    for (const block of section.blocks) if (block.type === 'chart') charts.push(await renderChart(block.chart))
  }
  const top = header(run)

  await writeCharts(join(runDir, CHARTS_DIR), charts)
  const markdownPath = join(runDir, 'report.md')
  const htmlPath = join(runDir, 'report.html')
  await writeFile(markdownPath, toMarkdown(top, sections))
  await writeFile(htmlPath, toHtml(top, sections, new Map(charts.map((c) => [c.name, c]))))
  return { markdownPath, htmlPath, sections: sections.map((s) => s.id), skipped: run.skipped, warnings: charts.flatMap((c) => c.warnings) }
}
