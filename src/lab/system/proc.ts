/**
 * What /proc (Linux) says about a process: its parent, its state, when it
 * started. Where there is no /proc (macOS) every reader returns null or nothing,
 * and callers fall back to what kill(pid, 0) tells.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs'

export interface ProcStat {
  pid: number
  comm: string
  state: string
  ppid: number
  /** Clock ticks in user and kernel mode. */
  utime: number
  stime: number
  /** Clock ticks of waited-for children (a reaped `wrk` lands here). */
  cutime: number
  cstime: number
}

/**
 * Splits one /proc/<pid>/stat line: "pid (comm) state ppid ...". comm may hold
 * spaces and parentheses, so the fields are counted from the last ')'; `field(n)`
 * is stat field n (1-based, as in proc(5)) as a number.
 */
function statFields (line: string) {
  const open = line.indexOf('(')
  const close = line.lastIndexOf(')')
  if (open < 0 || close < open) throw new Error(`not a /proc/<pid>/stat line: ${line.slice(0, 60)}`)
  // Field 3 (state) is rest[0], so field n is rest[n - 3].
  const rest = line.slice(close + 2).trim().split(/\s+/)
  return {
    pid: Number(line.slice(0, open).trim()),
    comm: line.slice(open + 1, close),
    state: rest[0] ?? '?',
    field (n: number): number {
      const value = Number(rest[n - 3])
      if (!Number.isFinite(value)) throw new Error(`/proc stat field ${n} missing in: ${line.slice(0, 60)}`)
      return value
    }
  }
}

/** Parses one /proc/<pid>/stat line: "pid (comm) state ppid ... utime stime cutime cstime ...". */
export function parseProcStat (line: string): ProcStat {
  const { pid, comm, state, field } = statFields(line)
  return { pid, comm, state, ppid: field(4), utime: field(14), stime: field(15), cutime: field(16), cstime: field(17) }
}

function statLine (pid: number | 'self'): string | null {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return null
  }
}

export function readProcStat (pid: number | 'self'): ProcStat | null {
  const line = statLine(pid)
  return line === null ? null : parseProcStat(line)
}

/**
 * When the process started, in clock ticks after boot (stat field 22), or null.
 * With the PID it names one process for good: a PID the kernel hands out again
 * later comes with another start time.
 */
export function startTimeOf (pid: number): number | null {
  const line = statLine(pid)
  return line === null ? null : statFields(line).field(22)
}

/** Every process's parent, from /proc/*\/stat. */
export function parentMap (): Map<number, number> {
  const parents = new Map<number, number>()
  let entries: string[] = []
  try { entries = readdirSync('/proc') } catch { return parents }
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue
    const stat = readProcStat(Number(name))
    if (stat !== null) parents.set(stat.pid, stat.ppid)
  }
  return parents
}

/** The roots and all their descendants (children, grandchildren...), given a pid → ppid map. */
export function withDescendants (roots: readonly number[], parents: ReadonlyMap<number, number>): number[] {
  const children = new Map<number, number[]>()
  for (const [pid, ppid] of parents) children.set(ppid, [...(children.get(ppid) ?? []), pid])
  const seen = new Set<number>()
  const queue = [...roots]
  while (queue.length > 0) {
    const pid = queue.shift()!
    if (seen.has(pid)) continue
    seen.add(pid)
    queue.push(...(children.get(pid) ?? []))
  }
  return [...seen]
}

/**
 * The processes with a socket listening on TCP `port` (IPv4 or IPv6), from
 * /proc/net/tcp{,6} and each process's fds. Works on a stopped (SIGSTOP) process,
 * which can answer nothing itself. Empty where there is no /proc.
 */
export function listenerPids (port: number): number[] {
  const inodes = new Set<string>()
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let lines: string[] = []
    try { lines = readFileSync(table, 'utf8').split('\n').slice(1) } catch { continue }
    for (const line of lines) {
      // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
      const fields = line.trim().split(/\s+/)
      const local = fields[1]
      // 0A: LISTEN
      if (local === undefined || fields[3] !== '0A') continue
      if (Number.parseInt(local.slice(local.lastIndexOf(':') + 1), 16) === port) inodes.add(fields[9]!)
    }
  }
  if (inodes.size === 0) return []
  const pids: number[] = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    let fds: string[] = []
    try { fds = readdirSync(`/proc/${name}/fd`) } catch { continue }
    const holds = fds.some((fd) => {
      try {
        const target = readlinkSync(`/proc/${name}/fd/${fd}`)
        return target.startsWith('socket:[') && inodes.has(target.slice(8, -1))
      } catch {
        return false
      }
    })
    if (holds) pids.push(Number(name))
  }
  return pids
}
