// What one instance's scrape costs as its series grow (docs/observability.md, "What the metrics cost").
//   node scripts/scrape-cost.js registry                  CPU µs a serialisation, by label sets, prom-client's text vs GET /metrics's
//   node scripts/scrape-cost.js instance [seconds=10] [--fresh] [--server=dist/server.js ...]
//     an instance of each --server (side by side, one Redis of their own, free ports) that has
//     served every route with Redis up, then down, then up again, as after the drills (--fresh:
//     none of that); then, three times in turn, `seconds` probed on /health/live once a second
//     (as the watchdog does) and `seconds` probed and scraped once a second (as Prometheus
//     does): each one's CPU (every thread, /proc schedstat) a second in each window. The
//     difference of the medians is what a scrape costs it. --per-request: instead, one request
//     at a time, a second apart, each one's CPU (see perRequest below).
// Needs `npm run build`. The instance mode's timings move with the machine's load: compare
// builds side by side (copy a build's dist/server.js aside, pass both).
import { spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { metricsText } from '../dist/lib/metrics-text.js'
import { createServiceMetrics } from '../dist/lib/service-metrics.js'
import { freePort } from '../dist/lab/system/ports.js'
import { waitFor } from '../dist/lab/system/process.js'
import { median } from '../dist/lab/stats.js'

const [mode = 'registry', ...rest] = process.argv.slice(2)
const flags = rest.filter((arg) => arg.startsWith('--'))
const seconds = Number(rest.find((arg) => !arg.startsWith('--')) ?? 10)

/** The label sets a drilled instance keeps: every route it answered, by status (the redis drill's 503s included). */
const ANSWERED = [
  ['GET', '/kv/:key', 200], ['GET', '/kv/:key', 404], ['GET', '/kv/:key', 503], ['POST', '/kv/:key', 200], ['POST', '/kv/:key', 201],
  ['POST', '/kv/:key', 503], ['GET', '/counters/:name', 200], ['GET', '/counters/:name', 503], ['POST', '/counters/:name/incr', 200],
  ['POST', '/counters/:name/incr', 503], ['GET', '/', 200], ['GET', 'unmatched', 404], ['GET', '/health/live', 200],
  ['GET', '/health/ready', 200], ['GET', '/health/ready', 503]
]

async function cpuMicroseconds (times, render) {
  for (let i = 0; i < 50; i++) await render()
  const before = process.cpuUsage()
  for (let i = 0; i < times; i++) await render()
  const used = process.cpuUsage(before)
  return (used.user + used.system) / times
}

async function registryCost () {
  for (const copies of [0, 1, 2, 4]) {
    const { registry, httpDuration, store } = createServiceMetrics()
    for (let copy = 0; copy < copies; copy++) {
      for (const [method, route, status] of ANSWERED) httpDuration.observe({ method, route: `${route}${copy || ''}`, status_code: status }, 0.002 * (copy + 1))
      for (const operation of ['getKv', 'setKv', 'getCounter', 'incrCounter', 'ping']) {
        for (const outcome of ['ok', 'unavailable']) store.observe(`${operation}${copy || ''}`, outcome, 0.0003)
      }
    }
    const text = await registry.metrics()
    const lines = text.split('\n').filter((line) => line !== '' && !line.startsWith('#')).length
    const promClient = await cpuMicroseconds(2000, () => registry.metrics())
    // An idle instance between two scrapes: only the watchdog's probe changed.
    const ours = await cpuMicroseconds(2000, () => {
      httpDuration.observe({ method: 'GET', route: '/health/live', status_code: 200 }, 0.0004)
      return metricsText(registry)
    })
    console.log(`${copies * ANSWERED.length} request label sets, ${lines} samples, ${Math.round(text.length / 1024)} KB: prom-client ${promClient.toFixed(0)} µs, GET /metrics's text ${ours.toFixed(0)} µs`)
  }
}

/** CPU seconds of every thread of `pid` so far (schedstat: nanoseconds, not the 10 ms ticks of /proc/<pid>/stat). */
function threadSeconds (pid) {
  let total = 0
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      total += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]) / 1e9
    } catch { /* a thread that just ended */ }
  }
  return total
}

async function instanceCost () {
  const redisPort = await freePort()
  const servers = flags.filter((flag) => flag.startsWith('--server=')).map((flag) => flag.slice('--server='.length))
  if (servers.length === 0) servers.push('dist/server.js')
  const children = new Set()
  const start = (command, args, env) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, ...env } })
    children.add(child)
    child.once('exit', () => children.delete(child))
    return child
  }
  const stopAll = () => { for (const child of children) child.kill('SIGTERM') }
  process.once('SIGINT', () => { stopAll(); process.exit(130) })
  const startRedis = () => start('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'])
  try {
    let redis = startRedis()
    // Side by side, filled and scraped at the same moments: the machine's load moves them together.
    const apis = []
    for (const [index, server] of servers.entries()) {
      const port = await freePort()
      const child = start('node', [server], { PORT: String(port), REDIS_URL: `redis://127.0.0.1:${redisPort}`, LOG_LEVEL: 'warn', INSTANCE_ID: `api-${index + 1}` })
      apis.push({ server, pid: child.pid, base: `http://127.0.0.1:${port}`, probed: [], scraped: [] })
    }
    const get = (url, init) => fetch(url, init).then((response) => response.arrayBuffer())
    const everyApi = (path, init) => Promise.all(apis.map((api) => get(api.base + path, init)))
    await waitFor('every instance to answer', () => everyApi('/health/live').then(() => true, () => false), 10_000, 100)
    const json = { 'content-type': 'application/json' }
    const traffic = async () => {
      for (let i = 0; i < 30; i++) {
        await Promise.all([everyApi('/kv/a'), everyApi('/kv/missing'), everyApi('/counters/c'), everyApi('/'), everyApi('/nope'), everyApi('/health/ready'),
          everyApi(`/kv/k${i}`, { method: 'POST', headers: json, body: '{"value":"x"}' }), everyApi('/counters/c/incr', { method: 'POST', headers: json, body: '{"by":1}' })])
      }
    }
    if (!flags.includes('--fresh')) {
      await traffic()
      redis.kill('SIGTERM')
      await sleep(500)
      await traffic()
      redis = startRedis()
      await sleep(1500)
      await traffic()
    }
    const text = await (await fetch(apis[0].base + '/metrics')).text()
    console.log(`GET /metrics: ${text.split('\n').filter((line) => line !== '' && !line.startsWith('#')).length} samples, ${Math.round(text.length / 1024)} KB`)
    const scrape = { headers: { accept: 'text/plain;version=0.0.4', 'accept-encoding': 'gzip' } }
    // Past the JIT's first compilations of the scrape's code (on threads of their own, counted too).
    for (let i = 0; i < 20; i++) await everyApi('/metrics', scrape)
    await sleep(1000)
    if (flags.includes('--per-request')) return await perRequest(apis, scrape)
    for (let window = 0; window < 6; window++) {
      const scraped = window % 2 === 1
      const before = apis.map((api) => threadSeconds(api.pid))
      for (let i = 0; i < seconds; i++) {
        await sleep(1000)
        await everyApi('/health/live')
        if (scraped) await everyApi('/metrics', scrape)
      }
      apis.forEach((api, i) => api[scraped ? 'scraped' : 'probed'].push((threadSeconds(api.pid) - before[i]) / seconds * 1000))
    }
    for (const api of apis) {
      const list = (values) => values.map((value) => value.toFixed(2)).join(', ')
      console.log(`${api.server}: ms of CPU a second, probed ${list(api.probed)}; probed and scraped ${list(api.scraped)}; a scrape ~${(median(api.scraped) - median(api.probed)).toFixed(2)} ms`)
    }
  } finally {
    stopAll()
  }
}

/**
 * --per-request: each instance's CPU for one request, alone, a second after its
 * last (cold, as at one scrape a second): the threads' CPU from before it to 30 ms
 * after its answer. 3 × `seconds` of each, /health/live and /metrics in turn; the
 * medians are less moved by the machine's noise than a window's total.
 */
async function perRequest (apis, scrape) {
  const cost = apis.map(() => ({ probe: [], scrape: [] }))
  for (let round = 0; round < 3 * seconds; round++) {
    for (const [kind, path, init] of [['probe', '/health/live'], ['scrape', '/metrics', scrape]]) {
      for (const [i, api] of apis.entries()) {
        await sleep(1000 / apis.length)
        const before = threadSeconds(api.pid)
        await fetch(api.base + path, init).then((response) => response.arrayBuffer())
        await sleep(30)
        cost[i][kind].push((threadSeconds(api.pid) - before) * 1000)
      }
    }
  }
  for (const [i, api] of apis.entries()) {
    const [probe, scraped] = [median(cost[i].probe), median(cost[i].scrape)]
    console.log(`${api.server}: ms of CPU for one request, median of ${3 * seconds}: GET /health/live ${probe.toFixed(2)}, GET /metrics ${scraped.toFixed(2)}; a scrape ~${(scraped - probe).toFixed(2)} ms more`)
  }
}

if (mode === 'registry') await registryCost()
else if (mode === 'instance') await instanceCost()
else {
  console.error('usage: node scripts/scrape-cost.js registry | instance [seconds] [--fresh] [--per-request] [--server=dist/server.js]')
  process.exitCode = 1
}
