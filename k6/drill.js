// k6/drill.js: steady mixed load to run while workers are being killed.
//
//   k6 run k6/drill.js            then, in another terminal: npm run drill
//                                 (or by hand: pm2 kill a worker, pm2 reload ...)
//
// An open model (constant-arrival-rate): RATE requests start every second
// whatever happens to the servers, so a failover shows up as errors or latency,
// never as a quietly slower client. Every mutation carries an Idempotency-Key
// of its own, which is what lets nginx retry it on another instance safely.
// The goal is zero failed requests and, at the end, a counter that holds
// exactly the acknowledged increments (nothing lost, nothing applied twice).
//
// Settings, all optional (-e NAME=value):
//   BASE_URL           http://localhost                     nginx
//   RATE               200                                  requests started per second
//   DURATION           60s                                  how long
//   PRE_ALLOCATED_VUS  50                                   VUs made ready before the start
//   MAX_VUS            200                                  VUs k6 may add while responses are slow
//   DROPPED_MAX        0                                    iterations k6 may fail to start on time
//   MIX                root:25,kv-get:25,kv-set:25,incr:25  weights per endpoint (as in load.js)
//   KEYS               20                                   keys written in setup; kv-get/kv-set pick among them
//   INSTANCES          api-1,api-2,api-3,api-4              instances whose response counts the summary shows
//   SUMMARY_DIR        reports                              where k6-drill.json is written (the folder must exist)
import exec from 'k6/execution'
import {
  baseUrl, env, envDuration, envInt, instanceNames, instanceThresholds, mixSchedule, newRunId, parseMix
} from './lib/config.js'
import { initialCount, LEDGER_THRESHOLDS, recordAck, settleLedger } from './lib/ledger.js'
import { runStep, seedKeys } from './lib/mix.js'
import { SUMMARY_TREND_STATS, summaryOutputs, summaryPath } from './lib/summary.js'

const BASE_URL = baseUrl()
const RATE = envInt('RATE', 200)
const DURATION = envDuration('DURATION', '60s')
const PRE_ALLOCATED_VUS = envInt('PRE_ALLOCATED_VUS', 50)
const MAX_VUS = envInt('MAX_VUS', 200)
const DROPPED_MAX = envInt('DROPPED_MAX', 0, 0)
const MIX_TEXT = env('MIX', 'root:25,kv-get:25,kv-set:25,incr:25')
const MIX = parseMix('MIX', MIX_TEXT)
const SCHEDULE = mixSchedule(MIX)
const KEYS = envInt('KEYS', 20)
const INSTANCES = instanceNames()
if (MAX_VUS < PRE_ALLOCATED_VUS) {
  throw new Error('MAX_VUS (' + MAX_VUS + ') must be at least PRE_ALLOCATED_VUS (' + PRE_ALLOCATED_VUS + ')')
}

const KEY_PREFIX = 'k6.drill:key:'

/** @returns {Record<string, string[]>} */
function thresholds () {
  /** @type {Record<string, string[]>} */
  const t = {
    // The drill's goal: not one failed request while workers die and come back.
    http_req_failed: ['rate==0'],
    checks: ['rate==1'],
    // Iterations k6 could not start on time were never sent: they would hide errors.
    dropped_iterations: ['count<=' + DROPPED_MAX]
  }
  // Per endpoint, so the summary shows whether GETs or POSTs failed.
  for (const part of MIX) t['http_req_failed{endpoint:' + part.endpoint + '}'] = ['rate==0']
  return Object.assign(t, LEDGER_THRESHOLDS, instanceThresholds(INSTANCES))
}

/** @type {import('k6/options').Options} */
export const options = {
  scenarios: {
    drill: {
      executor: 'constant-arrival-rate',
      rate: RATE,
      timeUnit: '1s',
      duration: DURATION,
      preAllocatedVUs: PRE_ALLOCATED_VUS,
      maxVUs: MAX_VUS
    }
  },
  thresholds: thresholds(),
  summaryTrendStats: SUMMARY_TREND_STATS
}

/** @typedef {{ runId: string, counter: string, initial: number }} SetupData */

/** @returns {SetupData} */
export function setup () {
  const runId = newRunId()
  const counter = 'k6.drill:' + runId + ':hits'
  console.log('drill.js: ' + JSON.stringify({
    BASE_URL,
    scenario: options.scenarios && options.scenarios.drill,
    MIX: MIX_TEXT,
    KEYS,
    runId,
    counter,
    thresholds: options.thresholds,
    INSTANCES,
    summary: summaryPath('drill')
  }))
  seedKeys(BASE_URL, KEY_PREFIX, KEYS)
  return { runId, counter, initial: initialCount(BASE_URL, counter) }
}

/** @param {SetupData} data */
export default function (data) {
  const endpoint = SCHEDULE[exec.scenario.iterationInTest % SCHEDULE.length]
  const step = runStep(String(endpoint), {
    base: BASE_URL,
    keyPrefix: KEY_PREFIX,
    keys: KEYS,
    counter: data.counter,
    idempotencyKey: 'drill-' + data.runId + '-' + __VU + '-' + __ITER
  })
  if (step.acked) recordAck()
}

/** @param {SetupData} data */
export function teardown (data) {
  settleLedger(BASE_URL, data.counter, data.initial, 'Killed workers must not change that.')
}

/** @param {Record<string, any>} data */
export function handleSummary (data) {
  return summaryOutputs('drill', data)
}
