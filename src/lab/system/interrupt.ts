/**
 * One place that decides what happens on Ctrl-C (SIGINT) or SIGTERM: every
 * cleanup registered, last registered first, one at a time, then one exit.
 * Commands nest (the lab runs a bench and drills on a stack it brought up), and
 * several handlers each calling process.exit would race: the first to finish
 * would end the process while another was still stopping what it started.
 *
 * The work interrupted is not stopped: it runs on in the background until that
 * exit (a drill's timeline restarting the Redis it killed). interruptedWork()
 * tells it from the cleanups, so that the supervisor starts nothing for it.
 */
import { AsyncLocalStorage } from 'node:async_hooks'

type Cleanup = () => Promise<void> | void

const cleanups: Cleanup[] = []
let installed = false
let running = false
/** Holds true in the cleanups (and whatever they await) while they run. */
const cleaning = new AsyncLocalStorage<true>()

async function onSignal (signal: NodeJS.Signals): Promise<void> {
  if (running) return // a second Ctrl-C while cleaning up: let the cleanup finish
  running = true
  console.error(`\n${signal}: stopping what was started...`)
  while (cleanups.length > 0) {
    const cleanup = cleanups.pop()!
    try {
      await cleaning.run(true, cleanup)
    } catch (err) {
      console.error(`cleanup failed: ${(err as Error).message}`)
    }
  }
  process.exit(signal === 'SIGINT' ? 130 : 143)
}

/**
 * Registers `cleanup` to run if the process is interrupted; returns a function
 * that unregisters it (call it once the work is done and cleaned up normally).
 */
export function onInterrupt (cleanup: Cleanup): () => void {
  if (!installed) {
    installed = true
    process.on('SIGINT', () => { onSignal('SIGINT').catch(() => process.exit(130)) })
    process.on('SIGTERM', () => { onSignal('SIGTERM').catch(() => process.exit(143)) })
  }
  cleanups.push(cleanup)
  return () => {
    const at = cleanups.lastIndexOf(cleanup)
    if (at >= 0) cleanups.splice(at, 1)
  }
}

/**
 * True once Ctrl-C (or SIGTERM) is being handled, in the work it interrupted
 * rather than in a cleanup. That work must start nothing more: a cleanup that
 * already read what runs (down reads state.json once) would never stop it.
 */
export function interruptedWork (): boolean {
  return running && cleaning.getStore() !== true
}
