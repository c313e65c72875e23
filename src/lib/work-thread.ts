import { Worker } from 'node:worker_threads'
import { WorkFailedError } from '../errors.js'
import { WORK_THREAD_SCRIPT } from './work-thread-script.js'

/** How a work ended: done (with its digest) or stopped after `doneMs` slices because its client had gone. */
export type WorkOutcome =
  | { done: true, doneMs: number, digest: string }
  | { done: false, doneMs: number }

type ThreadMessage =
  | { type: 'ready', tid: number | null }
  | { type: 'done', id: number, doneMs: number, digest: string }
  | { type: 'stopped', id: number, doneMs: number }

interface Pending { worker: Worker, settle: (outcome: WorkOutcome) => void, fail: (err: Error) => void }

/**
 * Runs CPU-bound works in one thread below the event loop's priority
 * (work-thread-script.ts: it renices itself, to 19 by default: WORK_NICE). The instance's event loop then
 * comes before its own works whenever both want a core: requests, health checks and
 * Redis replies are not served between slices of hashing any more, but before them.
 *
 * One thread, not one per admitted work: an instance hashes on one core at most, as
 * it did on its event loop, so the bench's CPU-bound route still scales with
 * instances up to the cores (two threads per instance would put one instance on both
 * cores of this machine). The thread starts with the first work (an instance's boot
 * is not slowed), and again after it died: the works it had are answered with
 * WorkFailedError (503), never left waiting. Its id (TID) shows once it runs.
 */
export class WorkThread {
  readonly #nice: number
  readonly #pending = new Map<number, Pending>()
  #worker: Worker | undefined
  #tid: Promise<number | null> | undefined
  #nextId = 0

  /** `nice`: the thread's nice value (19: the lowest priority; WORK_NICE). */
  constructor ({ nice }: { nice: number }) {
    this.#nice = nice
  }

  /** Hashes for `ms` slices; stops early once `clientGone` aborts. Rejects with WorkFailedError if the thread dies. */
  run (ms: number, clientGone: AbortSignal): Promise<WorkOutcome> {
    if (clientGone.aborted) return Promise.resolve({ done: false, doneMs: 0 })
    const worker = this.#thread()
    const id = this.#nextId++
    const stop = (): void => { worker.postMessage({ type: 'stop', id }) }
    return new Promise<WorkOutcome>((resolve, reject) => {
      const settled = (): void => {
        this.#pending.delete(id)
        clientGone.removeEventListener('abort', stop)
        if (this.#pending.size === 0) worker.unref()
      }
      this.#pending.set(id, {
        worker,
        settle: (outcome) => { settled(); resolve(outcome) },
        fail: (err) => { settled(); reject(err) }
      })
      clientGone.addEventListener('abort', stop, { once: true })
      worker.ref()
      worker.postMessage({ type: 'start', id, ms })
    })
  }

  /** The thread's Linux thread id once it runs (null where it could not renice itself); starts it if need be. */
  async tid (): Promise<number | null> {
    this.#thread()
    return await this.#tid!
  }

  /** Stops the thread (the instance is closing); works still in it fail. */
  async close (): Promise<void> {
    const worker = this.#worker
    this.#worker = undefined
    await worker?.terminate()
  }

  #thread (): Worker {
    if (this.#worker !== undefined) return this.#worker
    // No execArgv: the thread needs none of the process's flags (nor tap's loader).
    const worker = new Worker(WORK_THREAD_SCRIPT, { eval: true, execArgv: [], name: 'work', workerData: { nice: this.#nice } })
    worker.unref()
    this.#tid = new Promise((resolve) => {
      worker.once('message', (message: ThreadMessage) => { resolve(message.type === 'ready' ? message.tid : null) })
      worker.once('exit', () => { resolve(null) })
    })
    worker.on('message', (message: ThreadMessage) => { this.#answer(message) })
    worker.once('error', (err) => { this.#died(worker, err) })
    worker.once('exit', (code) => { this.#died(worker, new Error(`the work thread exited (code ${code})`)) })
    this.#worker = worker
    return worker
  }

  #answer (message: ThreadMessage): void {
    if (message.type === 'ready') return
    const outcome: WorkOutcome = message.type === 'done'
      ? { done: true, doneMs: message.doneMs, digest: message.digest }
      : { done: false, doneMs: message.doneMs }
    this.#pending.get(message.id)?.settle(outcome)
  }

  #died (worker: Worker, cause: Error): void {
    if (this.#worker === worker) this.#worker = undefined
    for (const pending of [...this.#pending.values()]) {
      if (pending.worker === worker) pending.fail(new WorkFailedError({ cause }))
    }
  }
}
