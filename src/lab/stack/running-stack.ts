import type { InstanceAnswer, StackTarget } from '../target.js'
import { onInterrupt } from '../system/interrupt.js'
import { apiPortsOf, appNames, LAB_SWITCHES, stackDir, stackSettings, type StackSettings } from './settings.js'
import { prometheusUrl } from './prometheus.js'
import { down, up, type Say } from './stack.js'
import { readState, type StackState } from './state.js'

/** A local stack a lab command runs against, and how to leave it as it was found. */
export interface RunningStack extends StackTarget {
  kind: 'local'
  settings: StackSettings
  state: StackState
  /** Puts the stack back as it was: down if the command brought it up, its old settings otherwise. */
  release (): Promise<void>
}

/** What a lesson needs of the local stack (target.ts), from its settings: the instances on this machine's ports. */
export function localStackTarget (settings: StackSettings): StackTarget & { kind: 'local' } {
  const names = appNames(settings)
  const ports = apiPortsOf(settings)
  return {
    kind: 'local',
    name: 'the local stack',
    base: `http://127.0.0.1:${settings.lbPort}`,
    store: settings.store,
    instances: names,
    directUrl: `http://127.0.0.1:${settings.apiBasePort}`,
    ...(settings.observe ? { prometheus: prometheusUrl(settings.promPort) } : {}),
    askEachInstance: async (path) => {
      const answers: Record<string, InstanceAnswer> = {}
      for (const [i, port] of ports.entries()) {
        const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(5000) })
        answers[names[i]!] = { status: res.status, body: await res.text() }
      }
      return answers
    }
  }
}

/**
 * The local stack with `changes` applied (e.g. another store): the running one
 * (STACK_DIR) if there is one, else one brought up now on the environment's
 * settings. Release restores what was there. Ctrl-C releases too.
 */
export async function useStack (changes: Partial<StackSettings>, say: Say, dir = stackDir()): Promise<RunningStack> {
  const previous = readState(dir)
  // What runs (or what the environment asks for), with the lab's switches back to
  // normal in case a "before" drill (`--no-retry`...) crashed before putting them back.
  const base: StackSettings = previous
    ? { ...previous.settings, ...LAB_SWITCHES }
    : stackSettings({ dir })
  const settings = { ...base, ...changes }
  if (!previous) say(`No stack is up: bringing one up (LB_PORT=${settings.lbPort}); it is taken down at the end.`)

  let released = false
  const release = async () => {
    if (released) return
    released = true
    unregister()
    if (!previous) await down(settings.dir, {}, say)
    else await up(base, () => {})
  }
  // Registered before `up`, so an interrupt at any point puts things back.
  const unregister = onInterrupt(release)
  let state: StackState
  try {
    state = await up(settings, previous ? () => {} : say)
  } catch (err) {
    unregister() // up stopped what it had started
    throw err
  }

  return { ...localStackTarget(settings), settings, state, release }
}
