import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import type { App } from '../src/app.js'
import type { Config } from '../src/config.js'
import { askNode, primaryPortFrom } from '../src/lab/system/redis-topology-status.js'
import { sentinelAddresses, startTopology, stopTopology, topologyPids, type Topology, type TopologyOptions } from '../src/lab/system/redis-topology.js'
import { build } from './helper.js'

/** A primary + replicas + Sentinels of the test's own (free ports, a temporary folder), stopped in teardown, pass or fail. */
export async function startTestTopology (t: Test, options: Partial<TopologyOptions> = {}): Promise<Topology> {
  const dir = mkdtempSync(join(tmpdir(), 'scale-lab-topology-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  // startTopology stops what it started when it fails.
  const topology = await startTopology({ dir, detached: false, ...options })
  t.teardown(async () => {
    // A paused node must be able to take its SIGTERM.
    for (const pid of topologyPids(topology)) { try { process.kill(pid, 'SIGCONT') } catch {} }
    await stopTopology(topology)
  })
  return topology
}

/** The service's settings for sentinel mode on this topology. */
export function sentinelSettings (topology: Topology, extra: Partial<Record<keyof Config, string>> = {}): Partial<Record<keyof Config, string>> {
  return {
    STORE: 'redis',
    REDIS_MODE: 'sentinel',
    REDIS_SENTINELS: sentinelAddresses(topology).map((s) => `${s.host}:${s.port}`).join(','),
    REDIS_MASTER_NAME: topology.masterName,
    ...extra
  }
}

/** An app in sentinel mode on this topology, closed in teardown. */
export function buildOnTopology (t: Test, topology: Topology, extra: Partial<Record<keyof Config, string>> = {}): Promise<App> {
  return build(t, sentinelSettings(topology, extra))
}

/** The primary's port, as the first Sentinel that answers says. */
export async function primaryPort (topology: Topology): Promise<number> {
  for (const sentinel of sentinelAddresses(topology)) {
    const port = await primaryPortFrom(sentinel.port, topology.masterName)
    if (port !== null) return port
  }
  throw new Error('no Sentinel answered')
}

/** A counter's value read on the primary itself (not through the service). */
export async function counterOnPrimary (topology: Topology, name: string): Promise<number> {
  return Number(await askNode(await primaryPort(topology), (c) => c.get(`sl:ctr:${name}`)) ?? 0)
}

/** One request of a write loop: when it started (ms since the loop began), how long it took, its status. */
export interface WriteEvent { at: number, ms: number, status: number }

/**
 * `writers` loops that POST increments of `counter`, each with its own
 * Idempotency-Key, until stopped; the ledger the audit reads. A test that fails
 * before it stops the loop has it stopped in teardown, before the app closes
 * (tap runs teardowns last-in first-out): else the loop's next request meets a
 * closed app.
 */
export function writeLoop (t: Test, app: App, counter: string, writers = 4) {
  const events: WriteEvent[] = []
  const started = performance.now()
  const state = { running: true, seq: 0 }
  const loop = async () => {
    while (state.running) {
      const at = performance.now() - started
      const res = await app.inject({ method: 'POST', url: `/counters/${counter}/incr`, headers: { 'idempotency-key': `${counter}-${state.seq++}` } })
      events.push({ at, ms: performance.now() - started - at, status: res.statusCode })
      if (res.statusCode !== 200) await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }
  const loops = Array.from({ length: writers }, loop)
  t.teardown(async () => {
    state.running = false
    await Promise.all(loops)
  })
  return {
    /** ms since the loop began */
    now: () => performance.now() - started,
    events,
    async stop () {
      state.running = false
      await Promise.all(loops)
      return summarize(events)
    }
  }
}

/** Acknowledged and unknown-outcome writes, and the outage: first failure → first success after the last failure. */
export function summarize (events: WriteEvent[]) {
  const acknowledged = events.filter((e) => e.status === 200).length
  const failures = events.filter((e) => e.status !== 200)
  const lastFailure = failures.at(-1)
  const recovered = lastFailure && events.find((e) => e.status === 200 && e.at > lastFailure.at)
  return {
    acknowledged,
    indeterminate: failures.length,
    otherThan503: failures.filter((e) => e.status !== 503).length,
    slowestMs: Math.max(0, ...events.map((e) => e.ms)),
    firstFailureAt: failures[0]?.at,
    recoveredAt: recovered ? recovered.at + recovered.ms : undefined
  }
}
