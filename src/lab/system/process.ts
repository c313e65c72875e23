import { spawn, type SpawnOptions } from 'node:child_process'
import { closeSync, openSync, readFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'

/**
 * True while a process with this PID runs. A zombie (exited, not yet reaped) counts
 * as gone: the daemons the stack starts outlive the CLI that started them, and an
 * init that reaps its orphans lazily leaves them as zombies for seconds (seen here).
 */
export function isAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
  return !isZombie(pid)
}

function isZombie (pid: number): boolean {
  try {
    // /proc/<pid>/stat: "pid (comm) S ..." — the state follows the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
    return state === 'Z' || state === 'X'
  } catch {
    return false // no /proc (macOS): kill(pid, 0) is all we have
  }
}

/**
 * The environment for a process the lab starts: ours, plus `extra`, without a
 * test runner's loader or coverage hooks (tap's), which would follow it into
 * every instance and daemon. Under tap, whose spawn wrapper puts its loader back,
 * the child is also told to record no coverage: it runs the same sources through
 * another loader (the bundle, tsx), and merging that coverage with the tests'
 * own blurs both (a file run fully in-process showed 65%).
 */
export function childEnv (extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra }
  delete env.NODE_OPTIONS
  delete env.NODE_V8_COVERAGE
  env._TAPJS_PROCESSINFO_COVERAGE_ = '0'
  return env
}

/** Polls `check` every `intervalMs` until it returns true, or throws after `timeoutMs` with `what`. */
export async function waitFor (what: string, check: () => boolean | Promise<boolean>, timeoutMs: number, intervalMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await check()) return
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(intervalMs)
  }
}

/**
 * Stops a process by PID: `signal` first, then SIGKILL if it is still there after
 * `graceMs`. Resolves once it is gone. Unknown or dead PIDs are fine.
 */
export async function stopPid (pid: number, { signal = 'SIGTERM' as NodeJS.Signals, graceMs = 5000 } = {}): Promise<void> {
  if (!isAlive(pid)) return
  try { process.kill(pid, signal) } catch { return }
  const deadline = Date.now() + graceMs
  while (isAlive(pid) && Date.now() < deadline) await sleep(25)
  if (!isAlive(pid)) return
  try { process.kill(pid, 'SIGKILL') } catch { return }
  await waitFor(`pid ${pid} to exit after SIGKILL`, () => !isAlive(pid), 5000, 25)
}

export interface DaemonOptions {
  /** stdout and stderr are appended here. */
  logFile: string
  env?: NodeJS.ProcessEnv
  cwd?: string
  /** Detached: survives the CLI that started it (the stack). Attached children die with their parent's group. */
  detached?: boolean
}

/** Starts a long-running process with its output in a log file; returns its PID. */
export function spawnDaemon (command: string, args: string[], options: DaemonOptions): number {
  const log = openSync(options.logFile, 'a')
  try {
    const spawnOptions: SpawnOptions = {
      stdio: ['ignore', log, log],
      detached: options.detached ?? true,
      env: options.env ?? process.env,
      cwd: options.cwd
    }
    const child = spawn(command, args, spawnOptions)
    if (child.pid === undefined) throw new Error(`could not start ${command}`)
    child.unref()
    return child.pid
  } finally {
    closeSync(log)
  }
}
