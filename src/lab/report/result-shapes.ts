/**
 * Runtime validators for every result kind in results.ts. Each is typed against
 * its interface (see shape.ts), so this file stops compiling when the contract
 * changes and these are not updated with it.
 */
import type {
  AuditResult, BenchCell, BenchResult, BenchTarget, CheckResult, DrillEvent, DrillResult,
  Latency, LoadResult, LoadSummary, RunMeta, TimelinePoint, Verdict, VerdictCheck
} from '../results.js'
import {
  arrayOf, boolean, nullable, number, object, oneOf, optional, recordOf, string, type Validator
} from './shape.js'

const scalar: Validator<string | number | boolean> = (value, path, problems) => {
  if (!['string', 'number', 'boolean'].includes(typeof value)) problems.push(`${path} should be a string, number or boolean`)
}

const runMeta = object<RunMeta>({
  run: string,
  startedAt: string,
  endedAt: optional(string),
  host: object<RunMeta['host']>({ cpus: number, node: string, nginx: optional(string), redis: optional(string) })
})

const latency = object<Latency>({ p50: number, p90: number, p99: number, max: number, mean: number })

const timelinePoint = object<TimelinePoint>({ t: number, responses: number, errors: number, latencyMs: optional(object<NonNullable<TimelinePoint['latencyMs']>>({ p50: number, p99: number, max: number })) })

export const loadSummary = object<LoadSummary>({
  label: string,
  engine: oneOf('autocannon', 'wrk', 'open-model'),
  target: string,
  connections: number,
  durationSeconds: number,
  requests: number,
  rps: number,
  latencyMs: latency,
  errors: object<LoadSummary['errors']>({ total: number, byKind: recordOf(number) }),
  instances: optional(recordOf(number)),
  timeline: optional(arrayOf(timelinePoint)),
  targetRps: optional(number)
})

const verdictCheck = object<VerdictCheck>({
  name: string, expected: string, actual: string, pass: boolean, informational: optional(boolean)
})

const verdict = object<Verdict>({ pass: boolean, checks: arrayOf(verdictCheck) })

const audit = object<AuditResult>({
  acknowledged: number,
  failed: number,
  indeterminate: number,
  rules: arrayOf(object<AuditResult['rules'][number]>({ name: string, pass: boolean, detail: string }))
})

const drillEvent = object<DrillEvent>({
  t: number,
  type: string,
  target: optional(string),
  detail: optional(string)
})

type Recovery = NonNullable<DrillResult['recoveries']>[number]

export const drillResult = object<DrillResult>({
  kind: oneOf('drill'),
  drill: string,
  meta: runMeta,
  options: recordOf(scalar),
  load: loadSummary,
  events: arrayOf(drillEvent),
  recoveries: optional(arrayOf(object<Recovery>({
    target: string, killedAtSeconds: number, readyAfterMs: nullable(number), routedAfterMs: nullable(number)
  }))),
  restarts: optional(recordOf(number)),
  faults: optional(arrayOf(recordOf(nullable(scalar)))),
  audit,
  verdict
})

export const checkResult = object<CheckResult>({
  kind: oneOf('check'),
  meta: runMeta,
  store: oneOf('redis', 'memory'),
  keys: number,
  concurrency: number,
  load: loadSummary,
  reads: object<CheckResult['reads']>({ total: number, missed: number, stale: number, wrongValue: number, failed: number }),
  counters: arrayOf(object<CheckResult['counters'][number]>({
    name: string, acknowledged: number, final: number, perInstance: recordOf(number)
  })),
  audit,
  verdict
})

export const loadResult = object<LoadResult>({ kind: oneOf('load'), meta: runMeta, runs: arrayOf(loadSummary) })

const benchCell = object<BenchCell>({
  id: string,
  label: string,
  group: oneOf('baseline', 'ceiling', 'direct', 'balanced', 'store', 'cpu', 'hot-path'),
  via: oneOf('express', 'cluster', 'nginx-only', 'direct', 'nginx'),
  instances: nullable(number),
  keepalive: optional(boolean),
  route: string,
  store: optional(oneOf('redis', 'memory')),
  runs: arrayOf(loadSummary),
  median: object<BenchCell['median']>({
    rps: number,
    latencyMs: object<BenchCell['median']['latencyMs']>({ p50: number, p90: number, p99: number }),
    errors: number
  }),
  cpuSeconds: object<BenchCell['cpuSeconds']>({ loadgen: number, nginx: number, api: number, redis: number })
})

const benchTarget = object<BenchTarget>({
  name: string, formula: string, value: nullable(number), goal: string, met: nullable(boolean)
})

export const benchResult = object<BenchResult>({
  kind: oneOf('bench'),
  meta: runMeta,
  engine: oneOf('wrk', 'autocannon'),
  repetitions: number,
  durationSeconds: number,
  connections: number,
  cells: arrayOf(benchCell),
  openModel: nullable(loadSummary),
  targets: arrayOf(benchTarget)
})
