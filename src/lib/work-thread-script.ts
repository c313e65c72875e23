/**
 * SHA-256 rounds that take about 1 ms of CPU on the machine this lab was built on
 * (measured: ~230 rounds per CPU-ms on one core). The work is a fixed amount, not
 * a wall-clock spin, so a busy machine shows up as lower throughput, not as less work.
 */
export const ROUNDS_PER_MS = 230

/**
 * The work thread's program (CommonJS, run with `new Worker(script, { eval: true })`).
 * A string, not a file: the same code then runs from src/ under tap's TypeScript
 * loader, from the bundled dist/server.js and in the image, with no file to find
 * beside the bundle.
 *
 * It renices itself to `workerData.nice` (Linux: a thread has its own id, and
 * setpriority() on it changes that thread only), then hashes every work it is given in ~1 ms slices, one slice per
 * turn of its own event loop across all of them (a work admitted second does not wait
 * for the first to end), and reads its messages between slices: a `stop` for a work
 * whose client has gone takes effect within a slice. Messages in: `{ type: 'start',
 * id, ms }`, `{ type: 'stop', id }`. Out: `{ type: 'ready', tid }` (null where a
 * thread cannot be reniced), `{ type: 'done', id, doneMs, digest }`, `{ type:
 * 'stopped', id, doneMs }`. A start with an ms that is not a whole number throws:
 * the thread dies, as it would on a bug (the main side answers its works with an
 * error and starts another thread).
 */
export const WORK_THREAD_SCRIPT = `'use strict'
const { parentPort, workerData } = require('node:worker_threads')
const { createHash } = require('node:crypto')
const { readlinkSync } = require('node:fs')
const { setPriority } = require('node:os')

const block = Buffer.alloc(1024, 0x5a)
let tid = null
try {
  tid = Number(readlinkSync('/proc/thread-self').split('/').pop())
  setPriority(tid, workerData.nice)
} catch {
  tid = null
}
parentPort.postMessage({ type: 'ready', tid })

const works = new Map()
const turns = []
let scheduled = false

parentPort.on('message', (message) => {
  if (message.type === 'stop') {
    const work = works.get(message.id)
    if (work === undefined) return
    works.delete(message.id)
    parentPort.postMessage({ type: 'stopped', id: message.id, doneMs: work.doneMs })
    return
  }
  if (!Number.isInteger(message.ms) || message.ms < 0) throw new TypeError('a work of ' + message.ms + ' ms')
  works.set(message.id, { ms: message.ms, doneMs: 0, digest: block })
  turns.push(message.id)
  schedule()
})

function schedule () {
  if (scheduled || turns.length === 0) return
  scheduled = true
  setImmediate(turn)
}

function turn () {
  scheduled = false
  const id = turns.shift()
  const work = works.get(id)
  if (work !== undefined) {
    if (work.doneMs < work.ms) {
      let digest = work.digest
      for (let i = 0; i < ${ROUNDS_PER_MS}; i++) digest = createHash('sha256').update(digest).update(block).digest()
      work.digest = digest
      work.doneMs++
    }
    if (work.doneMs < work.ms) {
      turns.push(id)
    } else {
      works.delete(id)
      parentPort.postMessage({ type: 'done', id, doneMs: work.doneMs, digest: work.digest.toString('hex') })
    }
  }
  schedule()
}
`
