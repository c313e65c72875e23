import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { WATCHDOG_SCRIPT } from '../../paths.js'
import { childEnv } from '../../system/process.js'
import { WATCHDOG_TIMING, type WatchdogConfig, type WatchEvent } from '../../watchdog/watchdog.js'
import { apiPortsOf, appNames, type StackSettings } from '../settings.js'
import { stackPaths } from '../state.js'
import { daemonPart, sayPart, type StackPart } from './part.js'

/** The watchdog's files in the stack's state folder. */
export function watchdogFiles (settings: Pick<StackSettings, 'dir'>) {
  const dir = stackPaths(settings.dir).watchdog
  return {
    config: join(dir, 'config.json'),
    events: join(dir, 'events.jsonl'),
    status: join(dir, 'status.json'),
    log: join(dir, 'watchdog.log')
  }
}

function watchdogConfig (settings: StackSettings): WatchdogConfig {
  const files = watchdogFiles(settings)
  const ports = apiPortsOf(settings)
  return { targets: appNames(settings).map((name, i) => ({ name, port: ports[i]! })), ...WATCHDOG_TIMING, eventsFile: files.events, statusFile: files.status }
}

/** It rewrites its status every round: a status older than a few rounds means it is not watching. */
function watching (settings: StackSettings): boolean {
  const { status } = watchdogFiles(settings)
  if (!existsSync(status)) return false
  const { at } = JSON.parse(readFileSync(status, 'utf8')) as { at: number }
  return Date.now() - at < 3 * WATCHDOG_TIMING.intervalMs + WATCHDOG_TIMING.timeoutMs
}

/** Everything the watchdog logged after byte `offset` of its events file (the drills read what it did while they ran). */
export function watchdogEvents (settings: Pick<StackSettings, 'dir'>, offset = 0): WatchEvent[] {
  const { events } = watchdogFiles(settings)
  if (!existsSync(events)) return []
  return readFileSync(events).subarray(offset).toString('utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as WatchEvent)
}

const daemon = daemonPart({
  name: 'watchdog',
  spec: ({ settings }) => {
    const files = watchdogFiles(settings)
    // Ready once it has written a status since it was spawned.
    const spawnedAt = Date.now()
    return {
      name: 'watchdog',
      role: 'observer',
      command: process.execPath,
      args: [WATCHDOG_SCRIPT, files.config],
      env: childEnv(),
      logFile: files.log,
      ready: () => existsSync(files.status) && (JSON.parse(readFileSync(files.status, 'utf8')) as { at: number }).at >= spawnedAt,
      waitingFor: 'the watchdog to start watching',
      readyTimeoutMs: 5000
    }
  },
  answers: async (settings) => watching(settings),
  detail: () => `probes /health/live every ${WATCHDOG_TIMING.intervalMs} ms; ${WATCHDOG_TIMING.misses} misses of ${WATCHDOG_TIMING.timeoutMs} ms: SIGKILL`,
  // (`up` has made the stack's folders.)
  configure: async ({ settings }) => {
    const content = JSON.stringify(watchdogConfig(settings), null, 2) + '\n'
    const { config } = watchdogFiles(settings)
    if (existsSync(config) && readFileSync(config, 'utf8') === content) return false
    writeFileSync(config, content)
    return true
  },
  // It reads its configuration again on SIGHUP.
  reload: async (pid) => { process.kill(pid, 'SIGHUP') }
})

/**
 * The liveness watchdog (src/lab/watchdog/): what replaces an instance that runs
 * but no longer answers, which neither PM2 nor nginx does. Off when a lesson shows
 * the "before" picture (settings.watchdog false).
 */
export const watchdogPart: StackPart & { status: typeof daemon.status } = {
  name: 'watchdog',
  async up (ctx) {
    if (ctx.settings.watchdog) return daemon.up(ctx)
    if (ctx.supervisor.isRunning('watchdog')) {
      await ctx.supervisor.stop(['watchdog'])
      sayPart(ctx, 'watchdog', 'stopped (this lesson runs without it)')
    }
  },
  down: (ctx) => daemon.down(ctx),
  status: (ctx) => daemon.status(ctx)
}
