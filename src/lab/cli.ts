#!/usr/bin/env node
import { Command, InvalidArgumentError } from 'commander'
import { BenchError } from './bench/run.js'
import { CellSelectionError } from './bench/matrix.js'
import { FleetError } from './bench/fleet.js'
import { VariantError } from './bench/variant.js'
import { registerContainerCommands } from './commands/containers.js'
import { registerLabCommand } from './commands/lab.js'
import { registerLessonCommands } from './commands/lessons.js'
import { registerStackCommands } from './commands/stack.js'
import { EngineError } from './containers/engine.js'
import { LESSONS } from './lessons/index.js'
import { LessonOptionsError } from './lessons/run-lesson.js'
import { registerReportCommand } from './report/command.js'
import { SettingsError } from './stack/settings.js'
import { StackError } from './stack/stack.js'
import { MissingBinaryError } from './system/binaries.js'
import { interruptedWork } from './system/interrupt.js'

/**
 * scale-lab: the lab's one command. Each lesson (lessons/index.ts) is a
 * subcommand that prints a verdict and leaves its result behind; `lab` runs the
 * journey; `report` renders a run folder.
 */
const program = new Command('scale-lab')
  .description('A hands-on lab for learning how a web service scales: Fastify x PM2 x nginx x Redis')
  .showHelpAfterError()

registerStackCommands(program)
registerLessonCommands(program, LESSONS)
registerReportCommand(program)
registerLabCommand(program, LESSONS)
registerContainerCommands(program)

/** Failures that are the user's to fix or the lab's to report: their message is enough. */
const EXPECTED = [StackError, SettingsError, MissingBinaryError, InvalidArgumentError, LessonOptionsError, BenchError, CellSelectionError, FleetError, VariantError, EngineError]

try {
  await program.parseAsync()
} catch (err) {
  // A failure Ctrl-C caused (a start refused) is not reported: the cleanups say what they stop, then exit with 130.
  if (!interruptedWork()) {
    // Expected failures get their message only; anything else keeps its stack.
    if (EXPECTED.some((kind) => err instanceof kind)) console.error(`scale-lab: ${(err as Error).message}`)
    else console.error(err)
    process.exitCode = 1
  }
}
