/**
 * The `report [runDir]` command, registered on the lab's commander program by
 * the CLI. Without a folder it renders the newest run under ./reports.
 */
import { readdir } from 'node:fs/promises'
import { isAbsolute, join, relative, resolve } from 'node:path'
import type { Command } from 'commander'
import { REPORTS_DIR } from '../paths.js'
import { NothingToReportError } from './read-run.js'

/**
 * The newest run folder under `reportsDir`. Run folders are named by their
 * start time (2026-11-28T01-20-00Z), so the newest is the last by name; the
 * folders' mtimes would not do, as re-rendering an old run touches its folder.
 */
export async function newestRunDir (reportsDir: string): Promise<string> {
  const entries = await readdir(reportsDir, { withFileTypes: true }).catch(() => {
    throw new NothingToReportError(`no ${reportsDir} folder: run a drill, check or bench first, or name a run folder`)
  })
  const runs = entries.filter((e) => e.isDirectory()).map((e) => e.name).sort()
  const newest = runs.at(-1)
  if (newest === undefined) throw new NothingToReportError(`no run folders in ${reportsDir}: run a drill, check or bench first`)
  return join(reportsDir, newest)
}

/** reports/<run>/report.md when under the working folder, else the absolute path. */
function shortPath (path: string): string {
  const rel = relative(process.cwd(), path)
  return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? resolve(path) : rel
}

/** `reportsDir`: where run folders are looked for without an argument (the project's reports/). */
export function registerReportCommand (program: Command, reportsDir = REPORTS_DIR): Command {
  return program
    .command('report')
    .description('render a run folder\'s JSON results to report.md and report.html (with charts/*.svg)')
    .argument('[runDir]', 'the run folder (default: the newest under ./reports)')
    .action(async (runDir: string | undefined, _options: unknown, command: Command) => {
      try {
        const dir = runDir ?? await newestRunDir(reportsDir)
        // Loaded here, not at the top: vega and vega-lite are only needed to
        // render, so the rest of the CLI starts fast and works without them.
        const { renderReport } = await import('./render-report.js')
        const report = await renderReport(dir)
        for (const note of [...report.skipped, ...report.warnings]) console.error(`warning: ${note}`)
        console.log(`sections: ${report.sections.join(', ')}`)
        console.log(shortPath(report.markdownPath))
        console.log(shortPath(report.htmlPath))
      } catch (err) {
        // A user mistake (no folder, nothing in it) is a one-line message, not a stack trace.
        if (err instanceof NothingToReportError) command.error(`report: ${err.message}`)
        throw err
      }
    })
}
