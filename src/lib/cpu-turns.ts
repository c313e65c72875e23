/**
 * Turns on the CPU for work that runs in slices: one slice per turn of the event
 * loop, whatever the number of works, taken in order. Between two slices the loop
 * reads sockets (requests, Redis replies) and runs timers, so it is never held for
 * more than one slice. One slice per work per turn would not do: 48 works would hold
 * the loop for 48 slices at a time, long enough (on a busy machine) for the Redis
 * client's 400 ms command timeout to fire on replies already received.
 */
export class CpuTurns {
  readonly #waiting: Array<() => void> = []
  #scheduled = false

  /** Resolves when it is this caller's turn to run one slice (synchronously, then ask again). */
  next (): Promise<void> {
    return new Promise((resolve) => {
      this.#waiting.push(resolve)
      this.#schedule()
    })
  }

  #schedule (): void {
    if (this.#scheduled) return
    this.#scheduled = true
    setImmediate(() => {
      this.#scheduled = false
      const resolve = this.#waiting.shift()
      if (this.#waiting.length > 0) this.#schedule()
      resolve?.()
    })
  }
}
