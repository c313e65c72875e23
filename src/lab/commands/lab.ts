import { relative } from 'node:path'
import type { Command } from 'commander'
import { runLab } from '../lessons/lab.js'
import type { AnyLesson } from '../lessons/lesson.js'
import { textTable } from '../report/text-table.js'

/** `npm run lab`: the journey, every lesson that has a lab run, on a fresh stack of its own. */
export function registerLabCommand (program: Command, lessons: readonly AnyLesson[]): void {
  const names = lessons.filter((l) => l.lab !== undefined).map((l) => l.name)
  const optIn = lessons.filter((l) => l.lab !== undefined && l.labOptIn === true).map((l) => l.name)
  const journey = names.filter((name) => !optIn.includes(name))
  program.command('lab')
    .description(`the whole journey in one command (${journey.join(', ')}), then the report, on a fresh stack`)
    .option('--only <steps>', `comma-separated subset of: ${names.join(', ')}`)
    .option('--skip <steps>', 'comma-separated steps to leave out')
    .option('--with <steps>', `longer steps to add to the journey: ${optIn.join(', ')}`)
    .option('--out <dir>', 'run folder (default: reports/<time>)')
    .action(async (o: { only?: string, skip?: string, with?: string, out?: string }) => {
      const parse = (text: string) => text.split(',').map((s) => s.trim()).filter(Boolean).map((s) => {
        if (!names.includes(s)) throw new Error(`unknown step "${s}": choose from ${names.join(', ')}`)
        return s
      })
      const only = o.only ? parse(o.only) : [...journey, ...(o.with ? parse(o.with) : [])]
      const skip = o.skip ? parse(o.skip) : []
      const chosen = lessons.filter((l) => l.lab !== undefined && only.includes(l.name) && !skip.includes(l.name))
      const { outcomes, reportPath } = await runLab(chosen, o.out, (line) => console.log(line))
      console.log('\n' + textTable(['step', 'result', 'seconds', 'headline'], outcomes.map((o) => [o.step, o.status, String(o.seconds), o.headline]), { maxWidth: 200 }))
      if (reportPath) console.log(`\nReport: ${relative(process.cwd(), reportPath) || reportPath}   (open it in a browser; report.md beside it)`)
      if (outcomes.some((o) => o.status === 'FAIL' || o.status === 'ERROR')) process.exitCode = 1
    })
}
