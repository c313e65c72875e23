// k6/consistency.js: under load, is what was written what is read, and is
// every acknowledged increment in the counter?
//
//   k6 run k6/consistency.js
//
// Every iteration:
//   1. writes a key of its own (run id, VU, iteration) with a value of its own,
//      through nginx, and expects 201 with version 1;
//   2. reads it back, through whichever instance nginx picks, and expects 200
//      with the same value and version 1 (read_mismatch counts the misses);
//   3. increments the run's one shared counter, with an Idempotency-Key of its
//      own, and counts the increment if the service acknowledged it (2xx).
// teardown() reads the counter once more; the thresholds fail unless it rose
// by exactly the number of acknowledged increments (see lib/ledger.js).
//
// On Redis every rule holds. On STORE=memory behind nginx most reads land on an
// instance that never saw the write (404) and the counter is split four ways,
// so the run fails loudly, with k6's exit code 99.
//
// Settings, all optional (-e NAME=value):
//   BASE_URL      http://localhost                nginx (or one instance)
//   ITERATIONS    2000                            write+read+incr rounds, shared by the VUs
//   VUS           50                              concurrent virtual users
//   MAX_DURATION  5m                              stop after this long anyway (the verdict stays exact)
//   INSTANCES     api-1,api-2,api-3,api-4         instances whose response counts the summary shows
//   SUMMARY_DIR   reports                         where k6-consistency.json is written (the folder must exist)
import { check, group } from 'k6'
import { Rate } from 'k6/metrics'
import { is2xx, send } from './lib/api.js'
import { baseUrl, envDuration, envInt, instanceNames, instanceThresholds, newRunId } from './lib/config.js'
import { initialCount, LEDGER_THRESHOLDS, recordAck, settleLedger } from './lib/ledger.js'
import { SUMMARY_TREND_STATS, summaryOutputs, summaryPath } from './lib/summary.js'

const BASE_URL = baseUrl()
const ITERATIONS = envInt('ITERATIONS', 2000)
const VUS = envInt('VUS', 50)
const MAX_DURATION = envDuration('MAX_DURATION', '5m')
const INSTANCES = instanceNames()
if (VUS > ITERATIONS) throw new Error('VUS (' + VUS + ') must not exceed ITERATIONS (' + ITERATIONS + ')')

/** A write that was not acknowledged as the key's first version (201, version 1, same value). */
const writeFailed = new Rate('write_failed')
/** An acknowledged write whose read-back did not see it (404, another value, another version). */
const readMismatch = new Rate('read_mismatch')
/** Read-backs answered by another instance than the write (informational: the balancer at work). */
const readElsewhere = new Rate('read_from_other_instance')
/** An increment the service did not acknowledge (non-2xx or no answer). */
const incrFailed = new Rate('incr_failed')

/** @type {import('k6/options').Options} */
export const options = {
  scenarios: {
    consistency: { executor: 'shared-iterations', iterations: ITERATIONS, vus: VUS, maxDuration: MAX_DURATION }
  },
  thresholds: Object.assign({
    read_mismatch: ['rate==0'],
    write_failed: ['rate==0'],
    incr_failed: ['rate==0'],
    // A read-back's 404 is marked as an answer (see below): it counts in
    // read_mismatch, so this one is about requests that got no answer or a 5xx.
    http_req_failed: ['rate==0'],
    checks: ['rate==1']
  }, LEDGER_THRESHOLDS, instanceThresholds(INSTANCES)),
  summaryTrendStats: SUMMARY_TREND_STATS
}

/** @typedef {{ runId: string, counter: string, initial: number }} SetupData */

/** @returns {SetupData} */
export function setup () {
  const runId = newRunId()
  const counter = 'k6.consistency:' + runId + ':hits'
  console.log('consistency.js: ' + JSON.stringify({
    BASE_URL,
    scenario: options.scenarios && options.scenarios.consistency,
    runId,
    counter,
    thresholds: options.thresholds,
    INSTANCES,
    summary: summaryPath('consistency')
  }))
  return { runId, counter, initial: initialCount(BASE_URL, counter) }
}

/** @param {SetupData} data */
export default function (data) {
  const id = data.runId + ':' + __VU + ':' + __ITER

  group('write a unique key, read it back', function () {
    const key = 'k6.consistency:' + id
    const value = 'value ' + id + ' ' + Math.random()
    const write = send('POST', BASE_URL, '/kv/' + key, {
      endpoint: 'kv-set', name: 'POST /kv/:key', payload: { value }, idempotencyKey: 'kv-' + id
    })
    const written = check(write.res, {
      'write: 201 created': (r) => r.status === 201,
      'write: echoes the value, version 1': () => write.body !== null && write.body.value === value && write.body.version === 1
    })
    writeFailed.add(!written)
    // Only an acknowledged write must be readable.
    if (!is2xx(write.res.status)) return

    const read = send('GET', BASE_URL, '/kv/' + key, {
      // 404 is an answer (the key is not there): the check and read_mismatch
      // judge it, so http_req_failed keeps meaning "no answer, or a 5xx".
      endpoint: 'kv-get', name: 'GET /kv/:key', expected: [200, 404]
    })
    const seen = check(read.res, {
      'read: 200 (the write is visible)': (r) => r.status === 200,
      'read: same value, version 1': () => read.body !== null && read.body.key === key &&
        read.body.value === value && read.body.version === 1
    })
    readMismatch.add(!seen)
    readElsewhere.add(read.instance !== write.instance)
  })

  group('increment the shared counter', function () {
    const incr = send('POST', BASE_URL, '/counters/' + data.counter + '/incr', {
      endpoint: 'incr', name: 'POST /counters/:name/incr', payload: { by: 1 }, idempotencyKey: 'incr-' + id
    })
    const acked = is2xx(incr.res.status)
    check(incr.res, {
      'incr: 200 with an integer value': (r) => r.status === 200 && incr.body !== null && Number.isInteger(incr.body.value)
    })
    incrFailed.add(!acked)
    if (acked) recordAck()
  })
}

/** @param {SetupData} data */
export function teardown (data) {
  settleLedger(BASE_URL, data.counter, data.initial,
    'With every one of the ' + ITERATIONS + ' iterations completed and acknowledged, both are ' + ITERATIONS + '.')
}

/** @param {Record<string, any>} data */
export function handleSummary (data) {
  return summaryOutputs('consistency', data)
}
