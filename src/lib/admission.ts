import { OverloadedError } from '../errors.js'

export interface AdmissionOptions {
  /** How many may run at once. */
  concurrency: number
  /** How many more may wait for a free slot. */
  queue: number
  /** How long one may wait before it is refused after all. */
  queueMs: number
  /** false: admit everything at once, never refuse (the "before" picture of an overload). */
  shed: boolean
}

interface Waiting { start: () => void, timer: NodeJS.Timeout }

/**
 * Bounded concurrency with a short bounded queue, for work that costs CPU: past
 * capacity an instance either queues (and everyone waits, clients give up, and the
 * work done for them is wasted) or refuses what it cannot start soon (and most are
 * served). Work that finds the queue full is refused at once; work that waits in
 * it longer than `queueMs` is refused then. Both refusals are 503 SL_OVERLOADED.
 */
export class Admission {
  readonly #options: AdmissionOptions
  readonly #waiting: Waiting[] = []
  #running = 0

  constructor (options: AdmissionOptions) {
    this.#options = options
  }

  /** Resolves once the work may start (call release() when it ends); rejects with OverloadedError. */
  async acquire (): Promise<void> {
    const { concurrency, queue, queueMs, shed } = this.#options
    if (!shed || this.#running < concurrency) {
      this.#running++
      return
    }
    if (this.#waiting.length >= queue) throw new OverloadedError()
    await new Promise<void>((resolve, reject) => {
      const entry: Waiting = {
        start: resolve,
        timer: setTimeout(() => {
          this.#waiting.splice(this.#waiting.indexOf(entry), 1)
          reject(new OverloadedError())
        }, queueMs)
      }
      this.#waiting.push(entry)
    })
  }

  /** Frees the slot: the longest-waiting work takes it, else it is free. */
  release (): void {
    const next = this.#waiting.shift()
    if (next === undefined) {
      this.#running--
      return
    }
    clearTimeout(next.timer)
    next.start()
  }
}
