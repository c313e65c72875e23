import { Command } from 'commander'
import type { AnyLesson } from '../lessons/lesson.js'
import { addFlags, parseFlags } from '../lessons/flags.js'
import { runFromCli } from '../lessons/run-lesson.js'

/** What a group of lessons is about (`scale-lab drill --help`). */
const GROUPS: Record<string, string> = {
  drill: 'inject a fault under load and audit what clients saw and what the store kept',
  compose: 'the lessons on a running compose stack (docker compose up): check, load, kill, redis, partition'
}

/** A `scale-lab` command for every lesson, its flags derived from the lesson's options. */
export function registerLessonCommands (program: Command, lessons: readonly AnyLesson[]): void {
  const groups = new Map<string, Command>()
  for (const lesson of lessons) {
    const [first, second] = lesson.command
    let parent = program
    if (second !== undefined) {
      parent = groups.get(first) ?? program.command(first).description(GROUPS[first] ?? first)
      groups.set(first, parent)
    }
    const command = parent.command(second ?? first).description(lesson.description)
    addFlags(command, lesson.options)
      .option('--out <dir>', 'run folder for the JSON result (default: reports/<time>)')
      .action(async (flags: Record<string, unknown>) => {
        const { out, ...given } = flags
        await runFromCli(lesson, parseFlags(lesson.options, given), out as string | undefined)
      })
  }
}
