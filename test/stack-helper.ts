import type { Test } from 'tap'
import { onInterrupt } from '../src/lab/system/interrupt.js'
import { freshStackSettings } from '../src/lab/stack/fresh.js'
import type { StackSettings } from '../src/lab/stack/settings.js'
import { down, up } from '../src/lab/stack/stack.js'
import type { StackState } from '../src/lab/stack/state.js'

export interface TestStack {
  settings: StackSettings
  state: StackState
  /** http://127.0.0.1:<lb port> */
  base: string
}

/**
 * Brings a whole local stack (Redis, PM2 apps, nginx) up on free ports in a
 * temporary state folder, and takes it down in teardown, pass or fail. Without
 * Prometheus and the exporters unless asked (`observe: true`): their 1 s scrapes
 * only add CPU to the drills' timing on a 2-core machine, and the tests of the
 * observed stack ask for it.
 */
export async function startTestStack (t: Test, overrides: Partial<StackSettings> = {}): Promise<TestStack> {
  const settings = await freshStackSettings({ observe: false, ...overrides })
  // tap kills a file that runs past its timeout; the stack's daemons are detached
  // (they must outlive the CLI), so take them down on the way out too.
  const unregister = onInterrupt(() => down(settings.dir, { purge: true }).then(() => {}))
  t.teardown(async () => {
    await down(settings.dir, { purge: true })
    unregister()
  })
  const state = await up(settings)
  return { settings, state, base: `http://127.0.0.1:${settings.lbPort}` }
}

/** The stack's REDIS_MAXMEMORY ("512mb") in bytes, as CONFIG GET and INFO say it. */
export function maxmemoryBytes (settings: Pick<StackSettings, 'redisMaxmemory'>): number {
  const size = settings.redisMaxmemory
  return Number(/^\d+/.exec(size)![0]) * 1024 ** (['kb', 'mb', 'gb'].indexOf(size.slice(-2)) + 1)
}
