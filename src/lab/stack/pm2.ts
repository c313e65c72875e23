import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { ECOSYSTEM_FILE, PM2_BIN, PROJECT_DIR } from '../paths.js'
import { childEnv, isAlive, stopPid } from '../system/process.js'

const run = promisify(execFile)

/** One PM2 app as `pm2 jlist` reports it. */
export interface Pm2App {
  name: string
  pid: number
  /** online, stopped, errored, launching... */
  status: string
  restarts: number
  port: number | null
}

/** The environment of a PM2 command for a stack: its own PM2_HOME, never ~/.pm2. */
export function pm2Env (pm2Home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return childEnv({ PM2_HOME: pm2Home, ...extra })
}

/** Runs the project's own pm2 CLI against the stack's PM2_HOME. */
export async function pm2 (pm2Home: string, args: string[], extraEnv: Record<string, string> = {}): Promise<string> {
  try {
    const { stdout } = await run(process.execPath, [PM2_BIN, ...args, '--no-color'], {
      env: pm2Env(pm2Home, extraEnv),
      cwd: PROJECT_DIR,
      maxBuffer: 16 * 1024 * 1024
    })
    return stdout
  } catch (err) {
    const { stdout = '', stderr = '' } = err as { stdout?: string, stderr?: string }
    throw new Error(`pm2 ${args.join(' ')} failed: ${(stderr || stdout).trim().split('\n').slice(-5).join(' | ')}`)
  }
}

/** Starts the apps of ecosystem.config.js; `appEnv` is what the file reads (STORE, INSTANCES...). */
export async function pm2Start (pm2Home: string, appEnv: Record<string, string>): Promise<void> {
  await pm2(pm2Home, ['start', ECOSYSTEM_FILE], appEnv)
}

export async function pm2Apps (pm2Home: string): Promise<Pm2App[]> {
  // No daemon running (a stale pm2.pid after a reboot included): ask nothing, since
  // `pm2 jlist` would start a daemon that nothing records.
  const daemon = pm2DaemonPid(pm2Home)
  if (daemon === null || !isAlive(daemon)) return []
  const list = JSON.parse(await pm2(pm2Home, ['jlist'])) as Array<{
    name: string
    pid: number
    pm2_env: { status: string, restart_time: number, PORT?: string, env?: { PORT?: string } }
  }>
  return list.map((app) => {
    const port = app.pm2_env.PORT ?? app.pm2_env.env?.PORT
    return {
      name: app.name,
      pid: app.pid,
      status: app.pm2_env.status,
      restarts: app.pm2_env.restart_time,
      port: port === undefined ? null : Number(port)
    }
  })
}

/** The PM2 daemon's PID from PM2_HOME/pm2.pid, or null when there is none. */
export function pm2DaemonPid (pm2Home: string): number | null {
  const file = join(pm2Home, 'pm2.pid')
  if (!existsSync(file)) return null
  const pid = Number(readFileSync(file, 'utf8').trim())
  return Number.isInteger(pid) && pid > 0 ? pid : null
}

/** PM2's restart counts now; the function it returns gives the restarts since, per app. */
export async function restartsSince (pm2Home: string): Promise<() => Promise<Record<string, number>>> {
  const before = new Map((await pm2Apps(pm2Home)).map((a) => [a.name, a.restarts]))
  return async () => Object.fromEntries((await pm2Apps(pm2Home)).map((a) => [a.name, a.restarts - (before.get(a.name) ?? 0)]))
}

/** Stops the PM2 daemon and its apps (`pm2 kill`), then makes sure each of those PIDs is gone. */
export async function killPm2 (pm2Home: string): Promise<void> {
  const daemon = pm2DaemonPid(pm2Home)
  if (daemon === null || !isAlive(daemon)) return
  const apps = await pm2Apps(pm2Home).catch(() => [] as Pm2App[])
  await pm2(pm2Home, ['kill']).catch(() => {})
  for (const pid of [...apps.map((a) => a.pid), daemon]) if (pid > 0) await stopPid(pid)
}
