// k6/load.js: the seed's load test, done properly.
//
//   k6 run k6/load.js                                  10,000 requests by 100 VUs
//   k6 run -e SCENARIO=rate -e RATE=500 k6/load.js     500 requests/s for DURATION
//
// Each iteration is one request, chosen from MIX (GET /, GET /kv/:key,
// POST /kv/:key, POST /counters/:name/incr) and checked. Thresholds decide the
// exit code: a breach makes k6 exit 99. Settings, all optional (-e NAME=value):
//
//   BASE_URL           http://localhost     nginx (or one instance)
//   SCENARIO           iterations           iterations: closed model, ITERATIONS shared by VUS
//                                           rate: open model, RATE requests/s for DURATION
//   ITERATIONS         10000                SCENARIO=iterations: total requests
//   VUS                100                  SCENARIO=iterations: concurrent virtual users
//   MAX_DURATION       5m                   SCENARIO=iterations: stop after this long anyway
//   RATE               500                  SCENARIO=rate: requests started per second
//   DURATION           60s                  SCENARIO=rate: how long
//   PRE_ALLOCATED_VUS  100                  SCENARIO=rate: VUs made ready before the start
//   MAX_VUS            500                  SCENARIO=rate: VUs k6 may add if responses slow down
//   DROPPED_MAX        0                    SCENARIO=rate: iterations k6 may fail to start on time
//   MIX                root:30,kv-get:50,kv-set:10,incr:10   weights per endpoint
//   KEYS               100                  keys written in setup; kv-get/kv-set pick among them
//   P95_MS             500                  p95 bound on http_req_duration, overall and per endpoint
//   P99_MS             1000                 p99 bound on http_req_duration
//   FAILED_RATE        0.001                http_req_failed must stay below this rate
//   INSTANCES          api-1,api-2,api-3,api-4   instances whose response counts the summary shows
//   SUMMARY_DIR        reports              where k6-load.json is written (the folder must exist)
import exec from 'k6/execution'
import {
  baseUrl, env, envDuration, envInt, envPositive, instanceNames, instanceThresholds, mixSchedule, newRunId, parseMix
} from './lib/config.js'
import { runStep, seedKeys } from './lib/mix.js'
import { SUMMARY_TREND_STATS, summaryOutputs, summaryPath } from './lib/summary.js'

const BASE_URL = baseUrl()
const SCENARIO = env('SCENARIO', 'iterations')
const MIX_TEXT = env('MIX', 'root:30,kv-get:50,kv-set:10,incr:10')
const MIX = parseMix('MIX', MIX_TEXT)
const SCHEDULE = mixSchedule(MIX)
const KEYS = envInt('KEYS', 100)
const P95_MS = envPositive('P95_MS', 500)
const P99_MS = envPositive('P99_MS', 1000)
const FAILED_RATE = envPositive('FAILED_RATE', 0.001)
const INSTANCES = instanceNames()

/** The key pool (written in setup) and the counter incr increments. */
const KEY_PREFIX = 'k6.load:key:'
const COUNTER = 'k6.load:hits'

/**
 * The scenario SCENARIO asks for.
 * @returns {import('k6/options').Scenario}
 */
function scenario () {
  if (SCENARIO === 'iterations') {
    const iterations = envInt('ITERATIONS', 10000)
    const vus = envInt('VUS', 100)
    if (vus > iterations) throw new Error('VUS (' + vus + ') must not exceed ITERATIONS (' + iterations + ')')
    return { executor: 'shared-iterations', iterations, vus, maxDuration: envDuration('MAX_DURATION', '5m') }
  }
  if (SCENARIO === 'rate') {
    const preAllocatedVUs = envInt('PRE_ALLOCATED_VUS', 100)
    const maxVUs = envInt('MAX_VUS', 500)
    if (maxVUs < preAllocatedVUs) {
      throw new Error('MAX_VUS (' + maxVUs + ') must be at least PRE_ALLOCATED_VUS (' + preAllocatedVUs + ')')
    }
    return {
      executor: 'constant-arrival-rate',
      rate: envInt('RATE', 500),
      timeUnit: '1s',
      duration: envDuration('DURATION', '60s'),
      preAllocatedVUs,
      maxVUs
    }
  }
  throw new Error('SCENARIO must be "iterations" or "rate", got "' + SCENARIO + '"')
}

/**
 * @returns {Record<string, string[]>}
 */
function thresholds () {
  /** @type {Record<string, string[]>} */
  const t = {
    // Failed requests: transport errors and statuses outside 200-399 (a 404 on a
    // key setup wrote is a miss, and counts).
    http_req_failed: ['rate<' + FAILED_RATE],
    http_req_duration: ['p(95)<' + P95_MS, 'p(99)<' + P99_MS],
    // Every response is checked (status and body); allow one in a thousand to fail.
    checks: ['rate>0.999']
  }
  // Per endpoint: the same p95 bound, which also makes the summary print each.
  for (const part of MIX) t['http_req_duration{endpoint:' + part.endpoint + '}'] = ['p(95)<' + P95_MS]
  // Open model only: if k6 could not start iterations on time (too few VUs, an
  // overloaded load generator), the rate asked for was not the rate sent, and
  // the latencies measured are not the server's answer to it.
  if (SCENARIO === 'rate') t.dropped_iterations = ['count<=' + envInt('DROPPED_MAX', 0, 0)]
  return Object.assign(t, instanceThresholds(INSTANCES))
}

/** @type {import('k6/options').Options} */
export const options = {
  scenarios: { load: scenario() },
  thresholds: thresholds(),
  summaryTrendStats: SUMMARY_TREND_STATS
}

/** @typedef {{ runId: string }} SetupData */

/** @returns {SetupData} */
export function setup () {
  console.log('load.js: ' + JSON.stringify({
    BASE_URL,
    scenario: options.scenarios && options.scenarios.load,
    MIX: MIX_TEXT,
    KEYS,
    thresholds: options.thresholds,
    INSTANCES,
    summary: summaryPath('load')
  }))
  seedKeys(BASE_URL, KEY_PREFIX, KEYS)
  return { runId: newRunId() }
}

/** @param {SetupData} data */
export default function (data) {
  const endpoint = SCHEDULE[exec.scenario.iterationInTest % SCHEDULE.length]
  runStep(String(endpoint), {
    base: BASE_URL,
    keyPrefix: KEY_PREFIX,
    keys: KEYS,
    counter: COUNTER,
    idempotencyKey: 'load-' + data.runId + '-' + __VU + '-' + __ITER
  })
}

/** @param {Record<string, any>} data */
export function handleSummary (data) {
  return summaryOutputs('load', data)
}
