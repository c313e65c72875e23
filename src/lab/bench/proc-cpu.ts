/**
 * CPU time per process group, from /proc (Linux): where the cores went during a
 * load run. utime + stime of every PID in a group (children included: nginx
 * workers, cluster workers), read before and after the run.
 */
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { parseProcStat, readProcStat } from '../system/proc.js'

// Reading /proc's process table lives with the supervisor, which sweeps children with it.
export { parentMap, parseProcStat, readProcStat, withDescendants, type ProcStat } from '../system/proc.js'

let ticks: number | undefined
/** Clock ticks per second (`getconf CLK_TCK`, 100 nearly everywhere). */
export function clockTicks (): number {
  if (ticks === undefined) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
    } catch {
      ticks = 100
    }
  }
  return ticks
}

/**
 * How many threads of these processes are running or waiting for a core (state R),
 * from /proc/<pid>/task/<tid>/stat. An idle server sleeps in epoll_wait (S); one with
 * requests queued is runnable even when other work on the machine keeps it off the
 * cores, which a CPU-time reading alone would mistake for idle.
 */
export function runnableThreads (pids: readonly number[]): number {
  let runnable = 0
  for (const pid of pids) {
    let tids: string[] = []
    try { tids = readdirSync(`/proc/${pid}/task`) } catch { continue }
    for (const tid of tids) {
      try {
        if (parseProcStat(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')).state === 'R') runnable++
      } catch {
        // The thread ended between the listing and the read: not runnable.
      }
    }
  }
  return runnable
}

/** A snapshot of utime + stime (ticks) per PID. */
export type CpuSnapshot = Map<number, number>

export function snapshot (pids: readonly number[]): CpuSnapshot {
  const snap: CpuSnapshot = new Map()
  for (const pid of pids) {
    const stat = readProcStat(pid)
    if (stat !== null) snap.set(pid, stat.utime + stat.stime)
  }
  return snap
}

/** CPU seconds spent between two snapshots, over the PIDs present in both. */
export function cpuSecondsBetween (before: CpuSnapshot, after: CpuSnapshot, hz = clockTicks()): number {
  let total = 0
  for (const [pid, end] of after) {
    const start = before.get(pid)
    if (start !== undefined && end >= start) total += end - start
  }
  return total / hz
}

/** CPU seconds of this process's reaped children (cutime + cstime): how a finished `wrk` is counted. */
export function reapedChildrenSeconds (hz = clockTicks()): number {
  const self = readProcStat('self')
  return self === null ? 0 : (self.cutime + self.cstime) / hz
}

/** Busy and softirq ticks of the whole machine so far. */
export interface MachineTicks {
  /** user + nice + system + irq + softirq + steal: everything but idle and iowait. */
  busy: number
  /** Of which softirq: mostly the kernel's loopback network work, charged to no process. */
  softirq: number
}

/**
 * The first line of /proc/stat (cpu  user nice system idle iowait irq softirq steal ...).
 * The difference between two readings, minus the groups measured, is what the
 * kernel's softirqs and other work on the machine took meanwhile.
 */
export function parseMachineTicks (procStat: string): MachineTicks {
  const line = procStat.split('\n').find((l) => l.startsWith('cpu '))
  if (line === undefined) throw new Error('no "cpu" line in /proc/stat')
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = line.trim().split(/\s+/).slice(1).map(Number)
  return { busy: user + nice + system + irq + softirq + steal, softirq }
}

/** The machine's busy and softirq CPU seconds so far, or null without /proc. */
export function machineSeconds (hz = clockTicks()): MachineTicks | null {
  try {
    const ticks = parseMachineTicks(readFileSync('/proc/stat', 'utf8'))
    return { busy: ticks.busy / hz, softirq: ticks.softirq / hz }
  } catch {
    return null
  }
}
