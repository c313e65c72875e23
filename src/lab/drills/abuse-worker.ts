/**
 * The abuse drill's attacker, in a process of its own, in a session of its own: its
 * thousands of requests a second must not delay the normal clients' schedule in the
 * drill's own process (their latency is counted from it), only compete for the CPU as
 * another client would. A thread was not enough: Linux's scheduler (autogroup, on by
 * default) shares the CPU between sessions first, so an attacker thread, or a child in
 * the drill's session, took its CPU from the normal clients' load generator and not
 * from the stack (measured: docs/hardening.md, "Where the CPU route's time went").
 * One process for the whole drill, started before the load, stopped by its PID.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { onInterrupt } from '../system/interrupt.js'
import { runAttack, type AttackOutcome, type AttackSpec, type FloodStats, type HalfOpenOptions, type HalfOpenStats } from './abuse-attacks.js'

export interface Attacker {
  /** Runs one attack in the attacker's process; resolves with what it saw. */
  run: (spec: AttackSpec) => Promise<AttackOutcome>
  stop: () => Promise<void>
  /** The attacker's process (a session of its own: its session id is this pid). */
  pid: number
}

/** How long the attacker may take to exit once its channel is closed, before SIGTERM. */
const STOP_GRACE_MS = 1000

/** Marks the attacker's own process (this file, run by fork). */
const ATTACKER_ENV = 'SL_ABUSE_ATTACKER'

/** Starts the attacker's process (this file, as it runs: .js from dist/, .ts under the tests' loader, which the child inherits). */
export async function startAttacker (): Promise<Attacker> {
  // detached: a session of its own (setsid), so a scheduling group of its own; it gets no
  // Ctrl-C from the terminal, so the drill stops it on an interrupt itself.
  // --expose-gc: each attack starts on a clean heap (serveAttacks).
  const child = fork(fileURLToPath(import.meta.url), [], { detached: true, execArgv: [...process.execArgv, '--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, [ATTACKER_ENV]: '1' } })
  const exited = once(child, 'exit')
  const running = () => child.exitCode === null && child.signalCode === null
  // Closing the channel ends it (as a drill that died would); SIGTERM by its PID if it lingers.
  const stop = async () => {
    if (child.connected) child.disconnect()
    if (running()) await Promise.race([exited, sleep(STOP_GRACE_MS, undefined, { ref: false })])
    if (running()) {
      child.kill('SIGTERM')
      await exited
    }
  }
  const unregister = onInterrupt(stop)
  let pending: { resolve: (outcome: AttackOutcome) => void, reject: (err: unknown) => void } | null = null
  const failed = (err: unknown) => {
    pending?.reject(err)
    pending = null
  }
  child.on('error', failed)
  child.on('exit', (code, signal) => failed(new Error(`the attacker's process exited (${signal ?? code})`)))
  const [ready] = await Promise.race([once(child, 'message'), exited.then(() => { throw new Error('the attacker\'s process did not start') })]) as [unknown]
  if (ready !== 'ready') throw new Error('the attacker\'s process did not start')
  child.on('message', (outcome: AttackOutcome) => {
    pending?.resolve(outcome)
    pending = null
    idle(child)
  })
  idle(child)
  return {
    pid: child.pid!,
    run: (spec) => new Promise((resolve, reject) => {
      if (!child.connected) {
        reject(new Error('the attacker\'s process has stopped'))
        return
      }
      pending = { resolve, reject }
      // Held while an attack runs; between attacks it must never keep the lab's process alive.
      child.ref()
      child.channel?.ref()
      child.send(spec)
    }),
    stop: async () => {
      await stop()
      unregister()
    }
  }
}

function idle (child: ChildProcess): void {
  child.unref()
  child.channel?.unref()
}

/** A request flood, as data. */
export type FloodSpec = Omit<Extract<AttackSpec, { kind: 'flood' }>, 'kind'>

/** A flood in the attacker's process: what it sent and saw, and which of its requests were answered 2xx. */
export async function floodIn (attacker: Attacker, spec: FloodSpec): Promise<{ stats: FloodStats, acknowledged: number[] }> {
  const outcome = await attacker.run({ kind: 'flood', ...spec })
  if (outcome.kind !== 'flood') throw new Error('the attacker answered for another attack')
  return outcome
}

/** Half-sent headers from the attacker's process. */
export async function halfOpenIn (attacker: Attacker, spec: HalfOpenOptions): Promise<HalfOpenStats> {
  const outcome = await attacker.run({ kind: 'half-open', ...spec })
  if (outcome.kind !== 'half-open') throw new Error('the attacker answered for another attack')
  return outcome.stats
}

/** Where the attacker's side gets attacks and answers: the IPC channel to the drill (a MessagePort in a test). */
export interface AttackChannel {
  on: (event: 'message', listener: (spec: AttackSpec) => void) => unknown
  postMessage: (message: AttackOutcome | 'ready') => void
}

/**
 * The attacker's side: runs each attack it is sent, one at a time, and answers with its
 * outcome. Each starts on a clean heap where the process allows it (--expose-gc): the
 * half-open flood's 8,000 sockets were otherwise collected during the request flood
 * after it, in one 15-21 ms pause counted as the edge's time for the 429s in flight.
 */
export function serveAttacks (channel: AttackChannel): void {
  channel.on('message', (spec: AttackSpec) => {
    globalThis.gc?.()
    runAttack(spec).then((outcome) => channel.postMessage(outcome), (err: unknown) => { throw err })
  })
  channel.postMessage('ready')
}

if (process.env[ATTACKER_ENV] === '1' && process.send !== undefined) {
  // Gone with the drill: a parent that died leaves no attacker behind.
  process.once('disconnect', () => process.exit(0))
  serveAttacks({ on: (event, listener) => process.on(event, listener), postMessage: (message) => process.send!(message) })
}
