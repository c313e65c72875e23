/**
 * The watchdog as a process of the stack: `node dist/lab/watchdog/main.js <config.json>`.
 * The stack's supervisor starts it (role observer: stopped first) and SIGHUPs it
 * when the instances change; it reads its configuration again then.
 */
import { readFileSync } from 'node:fs'
import { Watchdog, type WatchdogConfig } from './watchdog.js'

const file = process.argv[2]
if (file === undefined) {
  console.error('usage: node dist/lab/watchdog/main.js <config.json>')
  process.exit(2)
}
const read = (): WatchdogConfig => JSON.parse(readFileSync(file, 'utf8')) as WatchdogConfig

const watchdog = new Watchdog(read())
watchdog.start()
process.on('SIGHUP', () => watchdog.configure(read()))
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    watchdog.stop()
    process.exit(0)
  })
}
