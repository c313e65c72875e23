import { setTimeout as sleep } from 'node:timers/promises'
import { waitFor } from '../system/process.js'
import { pm2, restartsSince } from '../stack/pm2.js'
import { isReady } from '../stack/probe.js'
import { apiPortsOf, appNames } from '../stack/settings.js'
import { stackPaths } from '../stack/state.js'
import type { RunningStack } from '../stack/running-stack.js'
import type { Fault } from './run-drill.js'

export interface ReloadOptions {
  /** The longest the load may run; it ends 2 s after the last reload. */
  durationSeconds: number
}

/**
 * A rolling `pm2 reload` under load: one app at a time, each waiting until it is
 * ready again before the next. In fork mode a reload is stop-then-start, so the
 * drain, nginx's retries and its passive health checks are what keep clients
 * from seeing it. Goal: zero errors.
 */
export function reloadFault (stack: RunningStack, options: ReloadOptions): Fault {
  const names = appNames(stack.settings)
  const ports = apiPortsOf(stack.settings)
  const pm2Home = stackPaths(stack.settings.dir).pm2Home
  const reloaded: string[] = []
  let restartsDuring: () => Promise<Record<string, number>>
  let restarts: Record<string, number> = {}

  return {
    drill: 'reload',
    label: `drill reload over ${options.durationSeconds}s`,
    durationSeconds: options.durationSeconds,
    endAfterTimelineSeconds: 2,
    options: { duration: `${options.durationSeconds}s` },
    prepare: async () => { restartsDuring = await restartsSince(pm2Home) },
    timeline: async ({ now, mark, io }) => {
      await sleep(2000)
      for (const [i, name] of names.entries()) {
        const began = now()
        mark('reload-start', name)
        io.say(`  reload ${name} at ${(began / 1000).toFixed(1)} s`)
        await pm2(pm2Home, ['reload', name])
        await waitFor(`${name} to be ready after its reload`, () => isReady(ports[i]!), 15_000, 20)
        mark('reload-done', name, `${Math.round(now() - began)} ms`)
        if (now() < options.durationSeconds * 1000) reloaded.push(name)
      }
    },
    judge: async (_context, traffic) => {
      restarts = await restartsDuring()
      const errors = traffic.errorsByOperation.reads + traffic.errorsByOperation.writes
      return [
        { name: 'apps reloaded while the load ran', expected: `${names.length}`, actual: `${reloaded.length} (${reloaded.join(', ') || 'none'})`, pass: reloaded.length === names.length },
        {
          // PM2 counts a reload as a restart: one each proves every app really got a new process.
          name: 'a new process for every app',
          expected: '1 restart each',
          actual: Object.entries(restarts).map(([app, n]) => `${app} ${n}`).join(', '),
          pass: names.every((name) => restarts[name] === 1)
        },
        { name: 'client-visible errors', expected: '0', actual: `${errors} (GET ${traffic.errorsByOperation.reads}, POST ${traffic.errorsByOperation.writes})`, pass: errors === 0 }
      ]
    },
    details: () => ({ restarts })
  }
}
