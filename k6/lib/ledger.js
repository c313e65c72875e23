// "Nothing lost": after the run, the counter must hold exactly the increments
// the service acknowledged. consistency.js and drill.js both check it.
//
// The difficulty: the acknowledged count lives in the VUs' metrics, and
// teardown() cannot read metric totals (nor the VUs' variables: it runs in a
// VU of its own). So the comparison is made by k6's metric engine instead:
//
//   counter_acked_minus_final   +1 in a VU for every acknowledged (2xx) incr,
//                               -(final - initial) once, in teardown(), where
//                               initial is what setup() read (0: a fresh counter)
//   threshold: count==0         i.e. applied == acknowledged, exactly
//
// A Counter's `count` is the sum of everything added to it, across all VUs
// and teardown (samples emitted in setup/teardown count towards thresholds like
// any other). An increment applied twice, or applied although the client saw it
// fail, leaves the sum negative; one lost leaves it positive. If teardown could
// not read the counter, it adds nothing: the sum stays at +acknowledged and
// counter_final_read (threshold rate==1) fails too. The expected total is never
// computed from ITERATIONS, so a run cut short by MAX_DURATION is still judged
// exactly.
import { sleep } from 'k6'
import { Counter, Rate } from 'k6/metrics'
import { send } from './api.js'

/** Acknowledged increments (informational: the summary shows the count). */
export const incrAcked = new Counter('incr_acked')
/**
 * The counter's final value as teardown read it, less its value in setup (0:
 * each run increments a counter of its own). Informational.
 */
export const counterFinal = new Counter('counter_final')
/** acknowledged - applied: must be 0. */
export const ackedMinusFinal = new Counter('counter_acked_minus_final')
/** Whether teardown could read the counter at all: must be 1. */
export const counterFinalRead = new Rate('counter_final_read')

/** The thresholds that make the run fail unless final == acknowledged. */
export const LEDGER_THRESHOLDS = {
  counter_acked_minus_final: ['count==0'],
  counter_final_read: ['rate==1']
}

/** Call once for every increment the service acknowledged (2xx). */
export function recordAck () {
  incrAcked.add(1)
  ackedMinusFinal.add(1)
}

/**
 * The counter's value, read through the balancer; retried a few times, since a
 * read is safe to repeat and a drill may be restarting an instance right now.
 * @param {string} base
 * @param {string} counter
 * @param {string} endpoint the endpoint tag (setup, teardown)
 * @returns {number | null} null when no attempt got a 200 with an integer value
 */
function readCounter (base, counter, endpoint) {
  for (let attempt = 1; attempt <= 5; attempt++) {
    const reply = send('GET', base, '/counters/' + counter, { endpoint, name: 'GET /counters/:name' })
    if (reply.res.status === 200 && reply.body !== null && Number.isInteger(reply.body.value)) {
      return reply.body.value
    }
    console.warn(endpoint + ': GET /counters/' + counter + ' answered ' + reply.res.status +
      ' ' + (reply.res.error || '') + ' (attempt ' + attempt + ' of 5)')
    if (attempt < 5) sleep(1)
  }
  return null
}

/**
 * In setup: the counter's value before any increment (what settleLedger
 * subtracts). Stops the run, pointing at BASE_URL, when it cannot be read.
 * @param {string} base
 * @param {string} counter
 * @returns {number}
 */
export function initialCount (base, counter) {
  const initial = readCounter(base, counter, 'setup')
  if (initial === null) throw new Error('setup: cannot read ' + base + '/counters/' + counter + ': is the stack up at BASE_URL?')
  return initial
}

/**
 * In teardown: reads the counter and settles the ledger (see the top of this file).
 * @param {string} base
 * @param {string} counter
 * @param {number} initial the value setup() read before any increment
 * @param {string} hint what to compare with, for the log line
 */
export function settleLedger (base, counter, initial, hint) {
  const final = readCounter(base, counter, 'teardown')
  counterFinalRead.add(final !== null)
  if (final === null) {
    console.error('teardown: could not read counter ' + counter + ': final == acknowledged cannot be verified')
    return
  }
  const applied = final - initial
  counterFinal.add(applied)
  ackedMinusFinal.add(-applied)
  console.log('teardown: counter ' + counter + ' rose by ' + applied + ' (from ' + initial + ' to ' + final + '); ' +
    'the summary compares it with incr_acked: counter_acked_minus_final must be 0. ' + hint)
}
