/**
 * The rate-limit lesson's measurement: one client sends well over its limit
 * through nginx for a few windows, and what got through is counted. With each
 * instance counting alone, nginx's round robin hands every instance a share of
 * the client, and each admits the whole limit: N instances, N times the limit.
 * With the budget in Redis the cluster admits the limit once.
 */
import type { OpenAnswer } from '../load/open-model.js'
import { runOpenModel } from '../load/open-model.js'
import type { RateLimitPhase, RateLimitResult, VerdictCheck } from '../results.js'
import { round } from '../stats.js'
import type { StackTarget } from '../target.js'

/**
 * The client's own address: the balancer forwards it (X-Forwarded-For) and the
 * limit counts it apart from the lab's own requests from 127.0.0.1 (the stack's
 * readiness checks through nginx), so every window it meets is its own.
 */
export const CLIENT_ADDRESS = '127.0.0.3'

/** Warms the instances up (JIT, nginx's upstream connections) first, as another client: its budget is not the measured one's. */
export const WARMUP_ADDRESS = '127.0.0.4'

/** The verdict's bounds: the instance store within ±25% of N × the limit, the shared one within ±5% of the limit. */
export const INSTANCE_TOLERANCE = 0.25
export const SHARED_TOLERANCE = 0.05

/** One store's run: the result's options (RATE_LIMIT_MAX the stack's instances run with, the client sending `over` times it) but the instances, which the stack has. */
export interface PhaseOptions extends Omit<RateLimitResult['options'], 'instances'> {
  store: RateLimitPhase['store']
}

/**
 * Windows in which anything was admitted, from when the 2xx answers came: a
 * limited client's admissions come in a burst at each window's start (its budget
 * spent long before the window ends), so a silence of more than a quarter window
 * between two of them is a new window. Counted rather than assumed, so a window
 * that started late on a busy machine does not skew the rate.
 */
export function countWindows (admittedAtMs: readonly number[], windowMs: number): number {
  if (admittedAtMs.length === 0) return 0
  const sorted = [...admittedAtMs].sort((a, b) => a - b)
  let windows = 1
  for (let i = 1; i < sorted.length; i++) if (sorted[i]! - sorted[i - 1]! > windowMs / 4) windows++
  return windows
}

/**
 * What the cluster admits per window, from the 2xx answers' times per instance.
 * Shared: one budget, so the cluster's windows. Instance: each instance keeps its
 * own windows, which drift apart on a busy machine (one that stalls starts its
 * next window late), so each is counted on its own and their shares added up.
 * `windows` is the cluster's, or the instances' mean.
 */
export function admittedPerWindow (store: RateLimitPhase['store'], admittedAtMs: ReadonlyMap<string, readonly number[]>, windowMs: number): { windows: number, perWindow: number } {
  if (store === 'shared') {
    const all = [...admittedAtMs.values()].flat()
    const windows = countWindows(all, windowMs)
    return { windows, perWindow: windows === 0 ? 0 : all.length / windows }
  }
  const each = [...admittedAtMs.values()].map((times) => ({ admitted: times.length, windows: countWindows(times, windowMs) }))
  return {
    windows: each.length === 0 ? 0 : round(each.reduce((sum, i) => sum + i.windows, 0) / each.length, 2),
    perWindow: each.reduce((sum, i) => sum + i.admitted / i.windows, 0)
  }
}

/** How one answer counts: admitted, refused by an instance or by the edge, or something else. */
export function classify (answer: Pick<OpenAnswer, 'status' | 'headers'>): 'admitted' | 'refused' | 'refusedByEdge' | 'other' {
  if (answer.status >= 200 && answer.status <= 299) return 'admitted'
  if (answer.status !== 429) return 'other'
  return answer.headers['x-instance'] === undefined ? 'refusedByEdge' : 'refused'
}

/**
 * One store's run: `over` × the limit per window, from CLIENT_ADDRESS, for
 * `windows` − ½ windows (each window's admissions are over in its first
 * instances ÷ over of it, so the last window's are all in).
 */
export async function measurePhase (stack: Pick<StackTarget, 'base' | 'instances'>, o: PhaseOptions, onTick?: (second: number, admitted: number) => void): Promise<RateLimitPhase> {
  const windowSeconds = o.windowMs / 1000
  const counts = { admitted: 0, refused: 0, refusedByEdge: 0, other: 0 }
  const admittedAtMs = new Map<string, number[]>()
  const admittedByInstance: Record<string, number> = {}
  const rate = o.over * o.limit / windowSeconds
  // Freshly restarted instances answered their first second up to a second late on a
  // busy machine: the bursts of 2xx then ran together and the windows were miscounted.
  await runOpenModel({ label: 'warm-up', url: `${stack.base}/`, rate, durationSeconds: 1, localAddress: WARMUP_ADDRESS, timeoutMs: 2000 })
  const load = await runOpenModel({
    label: `one client at ${o.over} × its limit via nginx → ${stack.instances.length}, RATE_LIMIT_STORE=${o.store}`,
    url: `${stack.base}/`,
    rate,
    durationSeconds: (o.windows - 0.5) * windowSeconds,
    localAddress: CLIENT_ADDRESS,
    timeoutMs: 2000,
    onAnswer: (_i, answer) => {
      const kind = classify(answer)
      counts[kind]++
      if (kind !== 'admitted') return
      const instance = String(answer.headers['x-instance'] ?? 'none')
      admittedByInstance[instance] = (admittedByInstance[instance] ?? 0) + 1
      admittedAtMs.set(instance, [...admittedAtMs.get(instance) ?? [], answer.scheduledAtMs + answer.latencyMs])
    },
    onTick: (tick) => onTick?.(tick.elapsedSeconds, counts.admitted)
  })
  const { windows, perWindow } = admittedPerWindow(o.store, admittedAtMs, o.windowMs)
  return {
    store: o.store,
    configuredPerSecond: round(o.limit / windowSeconds, 2),
    offeredPerSecond: round(rate, 2),
    sent: counts.admitted + counts.refused + counts.refusedByEdge + counts.other,
    ...counts,
    windows,
    admittedPerWindow: round(perWindow, 2),
    admittedPerSecond: round(perWindow / windowSeconds, 2),
    ratio: round(perWindow / o.limit, 3),
    admittedByInstance,
    load
  }
}

const times = (value: number) => `${value.toFixed(2)}×`

/** What the client really sent per second: below the offered rate when the machine could not keep up. */
const sentRate = (phase: RateLimitPhase) => phase.load.durationSeconds > 0 ? phase.sent / phase.load.durationSeconds : 0

/**
 * The lesson's verdict: behind N instances the instance store lets the client
 * through N times (within ±25%), the shared store once (within ±5%), and nothing
 * else decided the answers: no 429 from the edge, no errors.
 */
export function rateLimitVerdictChecks (phases: readonly RateLimitPhase[], instances: number): VerdictCheck[] {
  const instance = phases.find((p) => p.store === 'instance')
  const shared = phases.find((p) => p.store === 'shared')
  const within = (name: string, phase: RateLimitPhase | undefined, expected: number, tolerance: number): VerdictCheck => ({
    name,
    expected: `${times(expected)} ± ${Math.round(tolerance * 100)}%`,
    actual: phase === undefined ? 'not measured' : `${times(phase.ratio)} (${phase.admittedPerSecond}/s of ${phase.configuredPerSecond}/s)`,
    // (1e-9: 1.05 − 1 is 0.05000000000000004 in binary.)
    pass: phase !== undefined && Math.abs(phase.ratio - expected) <= expected * tolerance + 1e-9
  })
  const all = (key: 'refusedByEdge' | 'other') => phases.reduce((sum, p) => sum + p[key], 0)
  return [
    within(`RATE_LIMIT_STORE=instance: admitted ÷ configured (${instances} instances)`, instance, instances, INSTANCE_TOLERANCE),
    within('RATE_LIMIT_STORE=shared: admitted ÷ configured', shared, 1, SHARED_TOLERANCE),
    {
      name: 'each instance counting alone admits more than the shared budget',
      expected: 'instance > shared',
      actual: instance && shared ? `${instance.admittedPerSecond}/s vs ${shared.admittedPerSecond}/s` : 'not measured',
      pass: instance !== undefined && shared !== undefined && instance.admittedPerSecond > shared.admittedPerSecond
    },
    {
      name: 'the client kept well over N × its limit (sent ÷ seconds)',
      expected: `≥ ${2 * instances}× the limit`,
      actual: phases.map((p) => `${p.store} ${times(sentRate(p) / p.configuredPerSecond)}`).join(', '),
      pass: phases.every((p) => sentRate(p) >= 2 * instances * p.configuredPerSecond),
      // A machine too busy to send the load makes the instance row fail; this says why.
      informational: true
    },
    { name: '429s from the edge (nginx) instead of an instance', expected: '0', actual: String(all('refusedByEdge')), pass: all('refusedByEdge') === 0 },
    { name: 'answers other than 2xx and 429 (errors, timeouts)', expected: '0', actual: String(all('other')), pass: all('other') === 0 }
  ]
}
