/**
 * The lab's one process supervisor: the stack's daemons (Redis, nginx, and
 * whatever kind joins them), the bench's fleet and the tests' Redis all start
 * and stop through it.
 *
 * - A process is recorded the moment it is spawned, before it answers: a Ctrl-C
 *   (system/interrupt.ts) or a failure while it boots still finds it to stop.
 * - start() resolves once the process says it is ready, fails at once if it exits
 *   first (quoting the end of its log), and stops it on any failure.
 * - Once Ctrl-C is being handled, only the cleanups start and stop processes
 *   (interrupt.ts): the work interrupted, which runs on until the exit, spawns
 *   nothing more, stops nothing and writes no records. Otherwise it could start a
 *   process after a cleanup read the records (`down` reads state.json once), that
 *   the cleanup would never stop, or stop one a cleanup putting the stack back
 *   has just seen running. What it spawned before is recorded: the cleanups find it.
 * - stop() goes by role (ROLES), then sweeps the children seen (nginx workers,
 *   cluster workers) that outlive their parent: the same PID and start time only,
 *   never a PID the kernel has handed to another process since.
 * - Detached (the stack), the processes outlive this one: `onChange` persists the
 *   records (state.json) and a later run adopts them. Attached (the bench, the
 *   tests), they belong to this process's group.
 */
import { spawn } from 'node:child_process'
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs'
import { interruptedWork } from './interrupt.js'
import { parentMap, startTimeOf, withDescendants } from './proc.js'
import { isSameProcess, stopPid, waitFor, type ProcessId } from './process.js'

/**
 * What a process is to the others, in stop order: watchers first (they only
 * read), balancers before the servers they hold idle connections to, servers
 * before the monitors and stores they use, monitors (Sentinels) before the store
 * they would otherwise fail over, stores last.
 */
export const ROLES = ['observer', 'balancer', 'server', 'monitor', 'store'] as const
export type Role = typeof ROLES[number]

/** How to start one process, and how to know it serves. */
export interface DaemonSpec {
  /** Unique within a supervisor: 'redis', 'nginx', 'api stack-2'... */
  name: string
  /** Names it in errors (default: its name). */
  title?: string
  role: Role
  command: string
  args: string[]
  /** stdout and stderr are appended here. */
  logFile: string
  /** Where it says why it failed, quoted when it exits at start (default: logFile). */
  errorLog?: string
  env?: NodeJS.ProcessEnv
  cwd?: string
  port?: number
  /** True once it serves: polled every `pollMs` (50) for up to `readyTimeoutMs` (10 s). */
  ready: () => boolean | Promise<boolean>
  /** What the timeout error says was awaited. */
  waitingFor: string
  readyTimeoutMs?: number
  pollMs?: number
  /** Its graceful stop (default SIGTERM), and how long that may take before SIGKILL (default 5 s). */
  stopSignal?: NodeJS.Signals
  graceMs?: number
}

/** A process as recorded: enough for this run, or a later one, to tell it still runs and to stop it. */
export interface ProcessRecord extends ProcessId {
  name: string
  role: Role
  port: number | null
  stopSignal: NodeJS.Signals
  graceMs: number
  /** Its children as last seen: swept after it stops, if they are still the same processes. */
  children: ProcessId[]
}

export type ProcessRecords = Record<string, ProcessRecord>

export class StartError extends Error {
  override name = 'StartError'
}

/** What start() fails with once close() was called, or in the work a Ctrl-C interrupted. */
export const STOPPED_WHILE_STARTING = 'stopped while starting'

export interface SupervisorOptions {
  /** Detached: the processes outlive this one (the stack). Attached: they belong to this process's group. */
  detached: boolean
  /** Records left by an earlier run (state.json), to check on and to stop. */
  adopt?: Readonly<ProcessRecords>
  /** Called with every record each time one is added or changes: the stack persists them. */
  onChange?: (records: ProcessRecords) => void
}

export class Supervisor {
  readonly #records = new Map<string, ProcessRecord>()
  readonly #options: SupervisorOptions
  #closed = false

  constructor (options: SupervisorOptions) {
    this.#options = options
    for (const [name, record] of Object.entries(options.adopt ?? {})) this.#records.set(name, structuredClone(record))
  }

  /** Every process recorded, in start order, running or not. */
  get processes (): ProcessRecord[] {
    return [...this.#records.values()]
  }

  record (name: string): ProcessRecord | undefined {
    return this.#records.get(name)
  }

  /** True while the process recorded under `name` runs (the very process: not a later one with its PID). */
  isRunning (name: string): boolean {
    const record = this.#records.get(name)
    return record !== undefined && isSameProcess(record)
  }

  /**
   * Spawns `spec`, records it at once (replacing an earlier record of that name),
   * and resolves once it is ready. Every failure is a StartError, after the
   * process was stopped again.
   */
  async start (spec: DaemonSpec): Promise<ProcessRecord> {
    const title = spec.title ?? spec.name
    if (this.#closed || interruptedWork()) throw new StartError(STOPPED_WHILE_STARTING)
    if (this.isRunning(spec.name)) throw new StartError(`${title} already runs (pid ${this.#records.get(spec.name)?.pid})`)
    const pid = spawnLogged(spec, this.#options.detached)
    const record: ProcessRecord = {
      name: spec.name,
      role: spec.role,
      pid,
      startTime: startTimeOf(pid),
      port: spec.port ?? null,
      stopSignal: spec.stopSignal ?? 'SIGTERM',
      graceMs: spec.graceMs ?? 5000,
      children: []
    }
    this.#records.delete(spec.name) // re-inserted last: the records stay in start order
    this.#records.set(spec.name, record)
    this.#changed()
    try {
      await waitFor(spec.waitingFor, async () => {
        if (this.#closed) throw new StartError(STOPPED_WHILE_STARTING)
        if (!isSameProcess(record)) throw new StartError(`${title} exited at start: ${tail(spec.errorLog ?? spec.logFile)}`)
        return spec.ready()
      }, spec.readyTimeoutMs ?? 10_000, spec.pollMs ?? 50)
    } catch (err) {
      await this.#stopOne(record)
      throw err instanceof StartError ? err : new StartError((err as Error).message, { cause: err })
    }
    this.#refreshChildren([record])
    this.#changed()
    return record
  }

  /**
   * Stops the processes named (all by default), role by role in ROLES order,
   * each with its own graceful signal (or `signal`: the Redis drill's SIGKILL).
   * Resolves with the PIDs still running afterwards: none, unless SIGKILL failed
   * (or this is the work a Ctrl-C interrupted: it stops nothing).
   * The records stay: a stopped process is one that no longer runs.
   */
  async stop (names: readonly string[] = [...this.#records.keys()], { signal }: { signal?: NodeJS.Signals } = {}): Promise<number[]> {
    const chosen = names.map((name) => this.#records.get(name)).filter((r) => r !== undefined)
    if (interruptedWork()) return chosen.filter(isSameProcess).map((r) => r.pid)
    this.#refreshChildren(chosen.filter(isSameProcess))
    for (const role of ROLES) {
      await Promise.all(chosen.filter((r) => r.role === role).map((r) => this.#stopOne(r, signal)))
    }
    return chosen.flatMap((r) => [r, ...r.children]).filter(isSameProcess).map((p) => p.pid)
  }

  /** Drops the records of processes named that no longer run (a part the stack stopped for good). */
  forget (names: readonly string[]): void {
    const gone = names.filter((name) => this.#records.has(name) && !this.isRunning(name))
    for (const name of gone) this.#records.delete(name)
    if (gone.length > 0) this.#changed()
  }

  /**
   * From now on start() refuses, and a start() still waiting for its process
   * gives up and stops it: for a cleanup that must not race a start in progress.
   */
  close (): void {
    this.#closed = true
  }

  async #stopOne (record: ProcessRecord, signal = record.stopSignal): Promise<void> {
    await stopPid(record, { signal, graceMs: record.graceMs }).catch(() => {})
    // Children normally go with their parent; any that outlive it are killed.
    const strays = record.children.filter(isSameProcess)
    await Promise.all(strays.map((child) => stopPid(child, { signal: 'SIGKILL', graceMs: 1000 }).catch(() => {})))
  }

  #refreshChildren (records: readonly ProcessRecord[]): void {
    if (records.length === 0) return
    const parents = parentMap()
    for (const record of records) {
      for (const pid of withDescendants([record.pid], parents)) {
        if (pid === record.pid || record.children.some((c) => c.pid === pid)) continue
        record.children.push({ pid, startTime: startTimeOf(pid) })
      }
    }
  }

  #changed (): void {
    // The cleanups own the records now: the interrupted work's copy would write back what they stopped or changed.
    if (interruptedWork()) return
    this.#options.onChange?.(Object.fromEntries(this.#records))
  }
}

/** Spawns a process with its output appended to its log file; returns its PID. */
function spawnLogged (spec: DaemonSpec, detached: boolean): number {
  const log = openSync(spec.logFile, 'a')
  try {
    const child = spawn(spec.command, spec.args, { stdio: ['ignore', log, log], detached, env: spec.env ?? process.env, cwd: spec.cwd })
    // A spawn that fails (ENOENT...) also emits 'error': the thrown StartError says it.
    child.once('error', () => {})
    if (child.pid === undefined) throw new StartError(`could not start ${spec.title ?? spec.name} (${spec.command})`)
    child.unref()
    return child.pid
  } finally {
    closeSync(log)
  }
}

function tail (file: string, lines = 3): string {
  return existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join(' | ') : '(no log)'
}
