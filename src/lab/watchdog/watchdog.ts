/**
 * The liveness watchdog: what replaces an instance that is alive but frozen.
 *
 * PM2 restarts a process that exits, never one that runs and does not answer; nginx
 * routes around a silent instance but cannot restart it. So a small process of the
 * stack's own probes each instance's /health/live, and after `misses` probes in a row
 * got no answer within `timeoutMs`, SIGKILLs the process listening on that
 * instance's port (SIGKILL ends even a stopped process), for PM2 to start a new one.
 *
 * What it will not do: count a refused connection (the instance is dead or starting:
 * PM2's job) or any HTTP answer (a 503 is an answer: the process runs) as a miss;
 * kill while no other instance answered that round (the machine, or the watchdog
 * itself, stalled: killing would make it worse); kill more than one instance at a
 * time, or any while a killed one's replacement has not answered once.
 */
import { appendFileSync, renameSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { listenerPids } from '../system/proc.js'

export interface WatchTarget {
  name: string
  port: number
}

export interface WatchdogConfig {
  targets: WatchTarget[]
  /** How often each instance is probed. */
  intervalMs: number
  /** How long a probe waits for an answer. */
  timeoutMs: number
  /** Probes in a row without an answer before the instance is killed. */
  misses: number
  /** JSON lines: watching, kill, held, back. */
  eventsFile: string
  /** Rewritten every round: the watchdog is alive, and what it sees. */
  statusFile: string
}

/**
 * How long a process may stay silent before it is replaced: 8 probes a second apart,
 * each given 0.8 s. Longer than a pause worth riding out (the hang drill freezes an
 * instance 6 s, and it must come back by itself), well within the 15 s the stack
 * allows a frozen instance before it serves again; nginx has routed around it
 * within half a second all along.
 */
export const WATCHDOG_TIMING = { intervalMs: 1000, timeoutMs: 800, misses: 8 } as const

export type ProbeOutcome = 'answered' | 'refused' | 'silent'

/** One probe of GET /health/live on a new connection: any HTTP answer, no connection, or nothing in time. */
export function probeLive (port: number, timeoutMs: number): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/health/live', agent: false, timeout: timeoutMs }, (res) => {
      res.resume()
      resolve('answered')
    })
    req.once('timeout', () => { req.destroy(); resolve('silent') })
    req.once('error', () => resolve('refused'))
    req.end()
  })
}

export interface TargetState {
  misses: number
  /** Killed, and its replacement has not answered yet. */
  replacing: { pid: number, atMs: number } | null
}

export interface WatchEvent {
  /** Epoch milliseconds. */
  at: number
  event: 'watching' | 'kill' | 'held' | 'back'
  target?: string
  port?: number
  pid?: number
  misses?: number
  detail?: string
}

/**
 * What to do after a round: the target to kill (one at most), and those a kill is
 * held back for. One at a time, and none while an earlier one's replacement has not
 * answered yet: on a starved machine (measured here at a load average of 25) healthy
 * instances miss probes too, and killing several at once turned one frozen instance
 * into a fleet restarting together. The silent instance with the most misses goes first.
 */
export function decide (config: Pick<WatchdogConfig, 'misses'>, states: ReadonlyMap<string, TargetState>, outcomes: ReadonlyMap<string, ProbeOutcome>): { kill: string[], hold: string[] } {
  const due = [...states].filter(([name, s]) => s.replacing === null && s.misses >= config.misses && outcomes.get(name) === 'silent')
    .sort(([, a], [, b]) => b.misses - a.misses).map(([name]) => name)
  if (due.length === 0) return { kill: [], hold: [] }
  const someoneAnswered = [...outcomes.values()].includes('answered')
  const replacing = [...states.values()].some((s) => s.replacing !== null)
  if ((!someoneAnswered && states.size > 1) || replacing) return { kill: [], hold: due }
  return { kill: due.slice(0, 1), hold: due.slice(1) }
}

export class Watchdog {
  #config: WatchdogConfig
  readonly #states = new Map<string, TargetState>()
  #timer: NodeJS.Timeout | undefined
  #busy = false

  constructor (config: WatchdogConfig) {
    this.#config = config
    this.configure(config)
  }

  /** New targets (the stack's instances changed): states of those that stay are kept. */
  configure (config: WatchdogConfig): void {
    this.#config = config
    for (const name of [...this.#states.keys()]) if (!config.targets.some((t) => t.name === name)) this.#states.delete(name)
    for (const { name } of config.targets) if (!this.#states.has(name)) this.#states.set(name, { misses: 0, replacing: null })
    this.#event({ event: 'watching', detail: `${config.targets.map((t) => `${t.name}:${t.port}`).join(' ')} every ${config.intervalMs} ms, ${config.misses} misses of ${config.timeoutMs} ms` })
    this.#writeStatus()
  }

  start (): void {
    this.#timer = setInterval(() => {
      if (this.#busy) return
      this.#busy = true
      this.round().finally(() => { this.#busy = false })
    }, this.#config.intervalMs)
  }

  stop (): void {
    clearInterval(this.#timer)
  }

  /** Probes every target once and acts on what it saw. */
  async round (): Promise<void> {
    const { targets, timeoutMs } = this.#config
    const outcomes = new Map(await Promise.all(targets.map(async (t) => [t.name, await probeLive(t.port, timeoutMs)] as const)))
    for (const target of targets) {
      const state = this.#states.get(target.name)!
      const outcome = outcomes.get(target.name)!
      if (outcome === 'silent') {
        state.misses++
        continue
      }
      state.misses = 0
      if (outcome === 'answered' && state.replacing !== null) {
        this.#event({ event: 'back', target: target.name, port: target.port, detail: `answered ${Date.now() - state.replacing.atMs} ms after the kill` })
        state.replacing = null
      }
    }
    const { kill, hold } = decide(this.#config, this.#states, outcomes)
    for (const name of hold) this.#event({ event: 'held', target: name, misses: this.#states.get(name)!.misses, detail: 'not killing: no instance answered this round, or another is being replaced' })
    for (const name of kill) this.#kill(targets.find((t) => t.name === name)!)
    this.#writeStatus()
  }

  #kill (target: WatchTarget): void {
    const state = this.#states.get(target.name)!
    const pids = listenerPids(target.port)
    for (const pid of pids) {
      try { process.kill(pid, 'SIGKILL') } catch {}
    }
    this.#event({ event: 'kill', target: target.name, port: target.port, pid: pids[0], misses: state.misses, detail: pids.length === 0 ? 'no process listens on its port' : `SIGKILL ${pids.join(', ')}` })
    state.misses = 0
    state.replacing = pids.length > 0 ? { pid: pids[0]!, atMs: Date.now() } : null
  }

  #event (event: Omit<WatchEvent, 'at'>): void {
    appendFileSync(this.#config.eventsFile, JSON.stringify({ at: Date.now(), ...event }) + '\n')
  }

  #writeStatus (): void {
    const targets = this.#config.targets.map((t) => ({ ...t, misses: this.#states.get(t.name)!.misses, replacing: this.#states.get(t.name)!.replacing !== null }))
    // Written aside, then renamed over: `up` reads it while the watchdog runs, and once
    // read a half-written file ("Unexpected end of JSON input" from `stack up`).
    writeFileSync(`${this.#config.statusFile}.tmp`, JSON.stringify({ pid: process.pid, at: Date.now(), targets }) + '\n')
    renameSync(`${this.#config.statusFile}.tmp`, this.#config.statusFile)
  }
}
