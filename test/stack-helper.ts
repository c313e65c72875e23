import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import { freePort, freePortRange } from '../src/lab/system/ports.js'
import { stackSettings, type StackSettings } from '../src/lab/stack/settings.js'
import { down, up } from '../src/lab/stack/stack.js'
import type { StackState } from '../src/lab/stack/state.js'

export interface TestStack {
  settings: StackSettings
  state: StackState
  /** http://127.0.0.1:<lb port> */
  base: string
}

/** Every stack this process brought up, for the signal handler below. */
const running = new Set<string>()
let handlerInstalled = false

/**
 * tap kills a test file that runs past its timeout. The stack's daemons are
 * detached (they must outlive the CLI), so take them down on the way out.
 */
function installSignalHandler (): void {
  if (handlerInstalled) return
  handlerInstalled = true
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      Promise.allSettled([...running].map((dir) => down(dir, { purge: true }))).finally(() => process.exit(1))
    })
  }
}

/**
 * Brings a whole local stack (Redis, PM2 apps, nginx) up on free ports in a
 * temporary state folder, and takes it down in teardown, pass or fail.
 */
export async function startTestStack (t: Test, overrides: Partial<StackSettings> = {}): Promise<TestStack> {
  installSignalHandler()
  const instances = overrides.instances ?? 4
  const settings = stackSettings({
    dir: mkdtempSync(join(tmpdir(), 'sl-stack-')),
    lbPort: await freePort(),
    redisPort: await freePort(),
    apiBasePort: await freePortRange(instances),
    instances,
    logLevel: 'warn',
    ...overrides
  }, {})
  running.add(settings.dir)
  t.teardown(async () => {
    await down(settings.dir, { purge: true })
    running.delete(settings.dir)
  })
  const state = await up(settings)
  return { settings, state, base: `http://127.0.0.1:${settings.lbPort}` }
}
