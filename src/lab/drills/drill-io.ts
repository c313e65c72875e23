import type { LoadTick } from '../load/autocannon.js'
import type { AuditResult, Verdict, VerdictCheck } from '../results.js'
import { newRunId } from '../run.js'
import type { Mix, TrafficOptions } from './traffic.js'

/** Where a drill reports progress (the CLI prints; tests collect or drop). */
export interface DrillIo {
  say: (line: string) => void
}

/** The load every drill runs under: the drill commands' --mix, --connections and --rate. */
export interface DrillLoad {
  mix: Mix
  connections: number
  /** Requests per second (absent: as fast as answers come). */
  rate?: number
}

/** The defaults of that load, for the drill commands' flags and for the lab. */
export const DRILL_LOAD_DEFAULTS = { mix: 'root:25,kv-get:25,kv-set:25,incr:25', connections: 16, rate: 1000 } as const

/** What every drill's traffic shares: its load through the balancer at `base`, keys of a run of its own, a progress line a second. */
export function drillTraffic (base: string, load: DrillLoad, io: DrillIo): Pick<TrafficOptions, 'url' | 'connections' | 'rate' | 'mix' | 'runId' | 'onTick'> {
  return { url: base, connections: load.connections, rate: load.rate, mix: load.mix, runId: newRunId(), onTick: progressPrinter(io) }
}

/** Milliseconds since the load started → seconds, as result files count time. */
export function secondsSince (ms: number): number {
  return Math.round(ms / 10) / 100
}

/** One progress line a second: elapsed, req/s, errors. */
export function progressPrinter (io: DrillIo): (tick: LoadTick) => void {
  return (tick) => io.say(`  ${String(tick.elapsedSeconds).padStart(3)} s  ${String(tick.responses).padStart(6)} req/s  ${tick.errors} errors`)
}

/** A verdict from its rows: it holds when every deciding row passes. */
export function verdictOf (checks: VerdictCheck[]): Verdict {
  return { pass: checks.every((c) => c.informational || c.pass), checks }
}

/** The audit's counts and rules as verdict rows. `informational` names rules that do not decide. */
export function auditChecks (audit: AuditResult, informational: (rule: string) => boolean = () => false): VerdictCheck[] {
  return [
    // Without a single acknowledged write the rules below would hold vacuously.
    { name: 'writes audited', expected: '≥ 1 acknowledged', actual: String(audit.acknowledged), pass: audit.acknowledged > 0 },
    {
      name: 'write audit: acknowledged / failed / indeterminate',
      expected: 'counted',
      actual: `${audit.acknowledged} / ${audit.failed} / ${audit.indeterminate}`,
      pass: true,
      informational: true
    },
    ...audit.rules.map((rule) => ({
      name: rule.name,
      expected: 'holds',
      actual: rule.detail,
      pass: rule.pass,
      ...(informational(rule.name) ? { informational: true } : {})
    }))
  ]
}
