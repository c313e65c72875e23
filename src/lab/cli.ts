#!/usr/bin/env node
import { Command, InvalidArgumentError } from 'commander'
import { MissingBinaryError } from './system/binaries.js'
import { registerBenchCommand } from './commands/bench.js'
import { registerContainerCommands } from './commands/containers.js'
import { registerDrillCommands } from './commands/drill.js'
import { registerLabCommand } from './commands/lab.js'
import { registerLoadCommand } from './commands/load.js'
import { registerStackCommands } from './commands/stack.js'
import { registerReportCommand } from './report/command.js'
import { SettingsError } from './stack/settings.js'
import { StackError } from './stack/stack.js'

/**
 * scale-lab: the lab's one command. Each lesson is a subcommand that prints a
 * verdict and leaves a report behind.
 */
const program = new Command('scale-lab')
  .description('A hands-on lab for learning how a web service scales: Fastify x PM2 x nginx x Redis')
  .showHelpAfterError()

registerStackCommands(program)
registerLoadCommand(program)
registerDrillCommands(program)
registerBenchCommand(program)
registerReportCommand(program)
registerLabCommand(program)
registerContainerCommands(program)

try {
  await program.parseAsync()
} catch (err) {
  // Expected failures get their message only; anything else keeps its stack.
  if (err instanceof StackError || err instanceof SettingsError || err instanceof MissingBinaryError || err instanceof InvalidArgumentError) {
    console.error(`scale-lab: ${err.message}`)
  } else {
    console.error(err)
  }
  process.exitCode = 1
}
