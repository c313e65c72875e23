/** How a bench run was made, in sentences stored with its result (bench.json's notes). */
import { BENCH_KEY, INCR_PATH } from './matrix.js'
import type { Engine } from './measure.js'
import { PACED_CONNECTIONS } from './open-model-runs.js'

export interface NoteFacts {
  engine: Engine
  warmupSeconds: number
  /** CPU µs per request of the node:http open-model generator (null: wrk, or no open model). */
  generatorUsPerRequest: number | null
  elapsedSeconds: number
}

export function benchNotes (facts: NoteFacts): string[] {
  return [
    `Key read by every GET /kv cell: "${BENCH_KEY}" (written before the runs); POST cells increment ${INCR_PATH} (through nginx each POST carries its own X-Request-Id, so each is applied once).`,
    `An unmeasured warm-up round of every cell first, then a warm-up of ${facts.warmupSeconds} s before each measured run; cell order shuffled per repetition with a fixed seed. ` +
      'Before each load the bench waits until its processes are idle (none of their threads runnable, next to no CPU): a stopped closed loop leaves up to `connections` requests queued in the servers.',
    facts.engine === 'wrk'
      ? `The open model, with wrk (Debian's has no rate option): ${PACED_CONNECTIONS} connections each wait a random (exponential) think time before each request, so requests arrive at about the rate asked, independently, like an open model's — close to one while the think time (about ${PACED_CONNECTIONS} ÷ rate) dwarfs the latency; latency is timed from each request's sending, so a stall would lower the rate rather than show as queueing. A first second, not measured, warms nginx's upstream connections.`
      : 'The open model sends request i at start + i/rate on up to 64 keep-alive sockets and counts latency from the scheduled time (coordinated omission corrected); ' +
        'its first second, on the same schedule, is not recorded (opening the sockets and nginx\'s upstream connections costs tens of ms).',
    ...(facts.generatorUsPerRequest !== null
      ? [`The open-model generator (node:http in this process) used ${facts.generatorUsPerRequest} µs of CPU per request (median), on the same cores as the stack; wrk needs about a tenth of that (CPU s loadgen).`]
      : []),
    'Server CPU µs/req: (nginx + API + Redis CPU seconds) ÷ responses, median over repetitions, and the same per group. It leaves out the load generator and the kernel\'s softirqs, and other work on the machine moves it far less than req/s.',
    `Whole bench: ${facts.elapsedSeconds.toFixed(0)} s.`
  ]
}
