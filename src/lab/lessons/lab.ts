import { rmSync } from 'node:fs'
import { relative } from 'node:path'
import { runDir, runMeta } from '../run.js'
import { freshStackSettings } from '../stack/fresh.js'
import { useStack } from '../stack/running-stack.js'
import { parseFlags } from './flags.js'
import type { AnyLesson, LessonStatus } from './lesson.js'
import { runInLab } from './run-lesson.js'

export interface StepOutcome {
  step: string
  status: LessonStatus
  headline: string
  seconds: number
}

/**
 * `npm run lab`: the whole journey on a fresh stack of its own (free ports, a
 * temporary state folder): up → each lesson's lab runs, in the journey's order →
 * down → the report. A lesson that breaks is an ERROR step; the rest go on.
 */
export async function runLab (lessons: readonly AnyLesson[], out: string | undefined, say: (line: string) => void): Promise<{ outcomes: StepOutcome[], reportPath: string | null, dir: string }> {
  const dir = runDir(out)
  const meta = await runMeta(dir)
  const fresh = await freshStackSettings()
  const started = performance.now()
  const outcomes: StepOutcome[] = []
  const runs = lessons.flatMap((lesson) => (lesson.lab ?? []).map((flags) => ({ lesson, flags })))
  say(`scale-lab lab: ${lessons.map((l) => l.name).join(' → ')}, on a fresh stack; results in ${relative(process.cwd(), dir) || dir}`)
  say('[up] a fresh stack: Redis, PM2 × 4, nginx, on free ports')
  const stack = await useStack(fresh, say, fresh.dir)
  try {
    for (const [i, { lesson, flags }] of runs.entries()) {
      const began = performance.now()
      const seconds = () => Math.round((performance.now() - began) / 1000)
      let step = lesson.command.join(' ')
      try {
        const options = parseFlags(lesson.options, flags)
        step = lesson.step?.(options) ?? step
        say(`\n[${i + 1}/${runs.length}] ${step}  (${Math.round((began - started) / 1000)} s in)`)
        const headline = await runInLab(lesson, options, { meta, dir, io: { say } }, stack)
        outcomes.push({ step, ...headline, headline: headline.text, seconds: seconds() })
      } catch (err) {
        outcomes.push({ step, status: 'ERROR', headline: (err as Error).message, seconds: seconds() })
      }
    }
  } finally {
    say('\n[down] stopping the lab\'s stack')
    await stack.release()
    rmSync(fresh.dir, { recursive: true, force: true })
  }

  let reportPath: string | null = null
  try {
    const { renderReport } = await import('../report/render-report.js')
    reportPath = (await renderReport(dir)).htmlPath
  } catch (err) {
    outcomes.push({ step: 'report', status: 'ERROR', headline: (err as Error).message, seconds: 0 })
  }
  say(`\nThe lab took ${Math.round((performance.now() - started) / 1000)} s.`)
  return { outcomes, reportPath, dir }
}
