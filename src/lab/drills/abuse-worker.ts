/**
 * The abuse drill's attacker, in a thread of its own: its thousands of requests a
 * second must not delay the normal clients' schedule in the drill's own event loop
 * (their latency is counted from it), only compete for the CPU as an attacker would.
 * One thread for the whole drill, started before the load (it loads its modules once).
 */
import { once } from 'node:events'
import { isMainThread, parentPort, Worker, type MessagePort } from 'node:worker_threads'
import { runAttack, type AttackOutcome, type AttackSpec, type FloodStats, type HalfOpenOptions, type HalfOpenStats } from './abuse-attacks.js'

export interface Attacker {
  /** Runs one attack in the thread; resolves with what it saw. */
  run: (spec: AttackSpec) => Promise<AttackOutcome>
  stop: () => Promise<void>
}

/** Starts the attacker's thread (this file, as it runs: .js from dist/, .ts under the tests' loader, which the thread inherits). */
export async function startAttacker (): Promise<Attacker> {
  const worker = new Worker(new URL(import.meta.url))
  // It must never keep the lab's process alive.
  worker.unref()
  let pending: { resolve: (outcome: AttackOutcome) => void, reject: (err: unknown) => void } | null = null
  const failed = (err: unknown) => {
    pending?.reject(err)
    pending = null
  }
  worker.on('error', failed)
  worker.on('exit', (code) => failed(new Error(`the attacker's thread exited (${code})`)))
  const [ready] = await Promise.race([once(worker, 'message'), once(worker, 'error').then(([err]) => { throw err })]) as [unknown]
  if (ready !== 'ready') throw new Error('the attacker\'s thread did not start')
  worker.on('message', (outcome: AttackOutcome) => {
    pending?.resolve(outcome)
    pending = null
  })
  return {
    run: (spec) => new Promise((resolve, reject) => {
      pending = { resolve, reject }
      worker.postMessage(spec)
    }),
    stop: async () => { await worker.terminate() }
  }
}

/** A request flood, as data. */
export type FloodSpec = Omit<Extract<AttackSpec, { kind: 'flood' }>, 'kind'>

/** A flood in the attacker's thread: what it sent and saw, and which of its requests were answered 2xx. */
export async function floodIn (attacker: Attacker, spec: FloodSpec): Promise<{ stats: FloodStats, acknowledged: number[] }> {
  const outcome = await attacker.run({ kind: 'flood', ...spec })
  if (outcome.kind !== 'flood') throw new Error('the attacker answered for another attack')
  return outcome
}

/** Half-sent headers from the attacker's thread. */
export async function halfOpenIn (attacker: Attacker, spec: HalfOpenOptions): Promise<HalfOpenStats> {
  const outcome = await attacker.run({ kind: 'half-open', ...spec })
  if (outcome.kind !== 'half-open') throw new Error('the attacker answered for another attack')
  return outcome.stats
}

/** The thread's side: runs each attack it is sent, one at a time, and answers with its outcome. */
export function serveAttacks (port: MessagePort): void {
  port.on('message', (spec: AttackSpec) => {
    runAttack(spec).then((outcome) => port.postMessage(outcome), (err: unknown) => { throw err })
  })
  port.postMessage('ready')
}

if (!isMainThread && parentPort !== null) serveAttacks(parentPort)
