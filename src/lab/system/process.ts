import { setTimeout as sleep } from 'node:timers/promises'
import { readProcStat, startTimeOf } from './proc.js'

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

/** One process for good: its PID and when it started (null where there is no /proc). */
export interface ProcessId {
  pid: number
  startTime: number | null
}

/** The process `id` still runs: its PID is alive and was not handed to a later process since. */
export function isSameProcess (id: ProcessId): boolean {
  return isAlive(id.pid) && (id.startTime === null || startTimeOf(id.pid) === id.startTime)
}

function isZombie (pid: number): boolean {
  const state = readProcStat(pid)?.state // null without /proc (macOS): kill(pid, 0) is all we have
  return state === 'Z' || state === 'X'
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
 * Stops a process: `signal` first, then SIGKILL if it is still there after
 * `graceMs`. Resolves once it is gone. Unknown or dead processes are fine. Given a
 * ProcessId, a PID that now names another process is left alone.
 */
export async function stopPid (target: number | ProcessId, { signal = 'SIGTERM' as NodeJS.Signals, graceMs = 5000 } = {}): Promise<void> {
  const { pid } = typeof target === 'number' ? { pid: target } : target
  const running = typeof target === 'number' ? () => isAlive(pid) : () => isSameProcess(target)
  if (!running()) return
  try { process.kill(pid, signal) } catch { return }
  const deadline = Date.now() + graceMs
  while (running() && Date.now() < deadline) await sleep(25)
  if (!running()) return
  try { process.kill(pid, 'SIGKILL') } catch { return }
  await waitFor(`pid ${pid} to exit after SIGKILL`, () => !running(), 5000, 25)
}
