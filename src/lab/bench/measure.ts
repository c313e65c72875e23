/**
 * One measured run of a cell: the load, and the CPU each process group, the
 * kernel's softirqs and the rest of the machine used meanwhile (from /proc).
 * And the wait before it, until the previous run's work is really done.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { runAutocannon } from '../load/autocannon.js'
import { runWrk } from '../load/wrk.js'
import type { CpuSeconds, LoadSummary } from '../results.js'
import { round } from '../stats.js'
import type { Fleet, Group } from './fleet.js'
import type { CellSpec } from './matrix.js'
import { cpuSecondsBetween, machineSeconds, reapedChildrenSeconds, runnableThreads, snapshot } from './proc-cpu.js'

export type Engine = 'wrk' | 'autocannon'

/** What one run of a cell measured. */
export interface Measured {
  summary: LoadSummary
  cpu: CpuSeconds
  /** CPU seconds of the kernel's softirqs (loopback networking, charged to no process) during the run. */
  softirq: number | null
  /** CPU seconds the rest of the machine used meanwhile: other work on a shared machine. */
  others: number | null
  /** CPU seconds the whole machine was busy meanwhile, everything included. */
  busy: number | null
  /** Wall-clock seconds the measurement spanned (the load, and starting and reaping its generator). */
  seconds: number
}

export const HEADERS_JSON = { 'content-type': 'application/json' }

/** A closed-loop load of one cell: `connections` clients, each sending its next request when answered. */
export async function load (engine: Engine, cell: CellSpec, baseUrl: string, seconds: number, connections: number, label: string, signal: AbortSignal): Promise<LoadSummary> {
  const url = baseUrl + cell.path
  const headers = cell.body !== undefined ? HEADERS_JSON : undefined
  if (engine === 'wrk') {
    const { summary } = await runWrk({ label, url, connections, durationSeconds: seconds, method: cell.method, body: cell.body, headers, signal })
    return summary
  }
  const { summary } = await runAutocannon({
    label,
    url,
    connections,
    durationSeconds: seconds,
    requests: [{ method: cell.method, path: cell.path, ...(cell.body !== undefined ? { body: cell.body, headers } : {}) }]
  })
  delete summary.timeline
  return summary
}

export async function measure (engine: Engine, cell: CellSpec, fleet: Fleet, seconds: number, connections: number, label: string, signal: AbortSignal): Promise<Measured> {
  return measureDuring(engine, fleet, () => load(engine, cell, fleet.baseUrl(cell), seconds, connections, label, signal))
}

/**
 * The CPU each process group, the softirqs and the rest of the machine used while
 * `run` loaded the fleet: `engine` says where the load generator's CPU lands (wrk:
 * in our reaped children's time; the node:http generators: in this process).
 */
export async function measureDuring (engine: Engine, fleet: Fleet, run: () => Promise<LoadSummary>): Promise<Measured> {
  const pids = fleet.groupPids()
  const before = Object.fromEntries((Object.keys(pids) as Group[]).map((g) => [g, snapshot(pids[g])])) as Record<Group, ReturnType<typeof snapshot>>
  const machineBefore = machineSeconds()
  const selfBefore = process.cpuUsage()
  const childrenBefore = reapedChildrenSeconds()
  const startedAt = performance.now()
  const summary = await run()
  const seconds = round((performance.now() - startedAt) / 1000, 3)
  const selfUsage = process.cpuUsage(selfBefore)
  const childrenAfter = reapedChildrenSeconds()
  const machineAfter = machineSeconds()
  const group = (g: Group) => round(cpuSecondsBetween(before[g], snapshot(pids[g])), 2)
  const cpu = {
    loadgen: round(engine === 'wrk' ? childrenAfter - childrenBefore : (selfUsage.user + selfUsage.system) / 1e6, 2),
    nginx: group('nginx'),
    api: group('api'),
    redis: group('redis')
  }
  const ours = cpu.loadgen + cpu.nginx + cpu.api + cpu.redis + (engine === 'wrk' ? (selfUsage.user + selfUsage.system) / 1e6 : 0)
  if (machineBefore === null || machineAfter === null) return { summary, cpu, softirq: null, others: null, busy: null, seconds }
  const busy = machineAfter.busy - machineBefore.busy
  const softirq = machineAfter.softirq - machineBefore.softirq
  const others = busy - softirq - ours
  return { summary, cpu, softirq: round(softirq, 2), others: round(Math.max(0, others), 2), busy: round(busy, 2), seconds }
}

/** Samples, SETTLE_SAMPLE_MS apart, that must all find the bench's processes idle. */
const SETTLE_SAMPLES = 3
const SETTLE_SAMPLE_MS = 50
/** At most this much CPU over those samples: one clock tick (timers, a GC step), never a run's leftovers. */
const SETTLE_CPU_SECONDS = 0.01

/**
 * Waits until the bench's own processes are idle, at most `maxMs`: none of their
 * threads runnable in SETTLE_SAMPLES samples in a row, and next to no CPU used
 * meanwhile. A closed-loop run that stops leaves up to `connections` requests
 * queued in the servers (a CPU-bound route: ~1 s of work); without this the next
 * run would pay for them. CPU time alone is not enough: when other work on the
 * machine starves the servers, they use little CPU while their queue is still
 * full, and the leftovers then land in the next cell's numbers (seen as API CPU
 * during "nginx alone"). Returns how long it waited, in seconds.
 */
export async function settle (fleet: Fleet, maxMs = 10_000): Promise<number> {
  const pids = Object.values(fleet.groupPids()).flat()
  const start = performance.now()
  let quiet = 0
  let since = snapshot(pids)
  while (performance.now() - start < maxMs) {
    await sleep(SETTLE_SAMPLE_MS)
    quiet = runnableThreads(pids) === 0 ? quiet + 1 : 0
    if (quiet === 0) since = snapshot(pids)
    if (quiet >= SETTLE_SAMPLES) {
      const now = snapshot(pids)
      if (cpuSecondsBetween(since, now) <= SETTLE_CPU_SECONDS) break
      quiet = 0
      since = now
    }
  }
  return (performance.now() - start) / 1000
}
