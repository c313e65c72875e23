import { readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import t from 'tap'
import { busyPorts } from '../../src/lab/system/ports.js'
import { isAlive, waitFor } from '../../src/lab/system/process.js'
import { freshStackSettings } from '../../src/lab/stack/fresh.js'
import { down, status, up } from '../../src/lab/stack/stack.js'
import { daemonPid, readState, stackPaths } from '../../src/lab/stack/state.js'
import { GO_IDLE_ENV, instantQuery, prometheusAnswers, scrapeHealth, SCRAPE_INTERVAL_S } from '../../src/lab/stack/prometheus.js'
import { apiPortsOf, stackPorts } from '../../src/lab/stack/settings.js'
import { parseMix } from '../../src/lab/drills/mix.js'
import { runDrill, type Fault } from '../../src/lab/drills/run-drill.js'
import { COUNT_TOLERANCE, increaseOf } from '../../src/lab/counters.js'
import { prometheusBlocks } from '../../src/lab/report/sections/drill-prometheus.js'
import { DrillResultSchema, problemsOf } from '../../src/lab/results.js'
import { localStackTarget } from '../../src/lab/stack/running-stack.js'
import { startTestStack } from '../stack-helper.js'

/** Runs `count` requests, `concurrency` at a time; tallies who answered (x-instance) and with what status. */
async function send (count: number, concurrency: number, request: (i: number) => Promise<Response>) {
  const byInstance: Record<string, number> = {}
  const byStatus: Record<number, number> = {}
  let next = 0
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) {
      const res = await request(next++)
      await res.arrayBuffer()
      const instance = res.headers.get('x-instance') ?? 'none'
      byInstance[instance] = (byInstance[instance] ?? 0) + 1
      byStatus[res.status] = (byStatus[res.status] ?? 0) + 1
    }
  }))
  return { byInstance, byStatus }
}

const byInstance = (samples: Array<{ labels: Record<string, string>, value: number }>) =>
  Object.fromEntries(samples.map((s) => [s.labels.instance ?? '', s.value]))

// 10,000 requests through a whole stack: seconds on a quiet machine, minutes on a crowded one.
t.setTimeout(10 * 60_000)

t.test('the observed stack: Prometheus scrapes each instance, both exporters and itself', async (t) => {
  const { base, settings } = await startTestStack(t, { observe: true })
  const prom = settings.promPort
  t.not(prom, 9090, 'a free port, never the default')
  // The next scrape of every target, once `after` (unix ms) is past.
  const scraped = (after: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, after - Date.now()) + 2.5 * SCRAPE_INTERVAL_S * 1000))

  t.test('/metrics is 404 (JSON) through the balancer, and served on each instance\'s own port', async (t) => {
    for (const path of ['/metrics', '/metrics?x=1']) {
      const res = await fetch(`${base}${path}`)
      t.equal(res.status, 404, path)
      t.equal(res.headers.get('x-upstream'), null, 'answered by nginx itself, no instance asked')
      t.match(await res.json(), { statusCode: 404, code: 'SL_NOT_THROUGH_BALANCER', error: 'Not Found' })
    }
    for (const port of apiPortsOf(settings)) {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`)
      t.equal(res.status, 200, `instance on :${port}`)
      t.match(await res.text(), /^# HELP /m)
    }
  })

  t.test('up: 4 instances, the nginx exporter, the Redis exporter and Prometheus itself, all 1', async (t) => {
    const up = byInstance(await instantQuery(prom, 'up'))
    t.strictSame(up, { 'api-1': 1, 'api-2': 1, 'api-3': 1, 'api-4': 1, nginx: 1, redis: 1, prometheus: 1 })
    const targets = await scrapeHealth(prom)
    for (const port of apiPortsOf(settings)) {
      t.ok(targets.some((target) => target.scrapeUrl === `http://127.0.0.1:${port}/metrics`), `instance :${port} scraped on its own port`)
    }
    t.notOk(targets.some((target) => target.scrapeUrl.includes(`:${settings.lbPort}/`)), 'nothing scraped through the balancer')
    // The exporters see what they export: nginx through stub_status, Redis through INFO.
    t.strictSame((await instantQuery(prom, 'nginx_up')).map((s) => s.value), [1])
    t.strictSame((await instantQuery(prom, 'redis_up')).map((s) => s.value), [1])
    const stub = await fetch(`http://127.0.0.1:${settings.nginxStatusPort}/stub_status`)
    t.match(await stub.text(), /^Active connections: \d+/, 'stub_status on its own local listener')
  })

  t.test('the idle cost: the Go daemons run with one P and a lazier GC, the Redis exporter exports Redis alone', async (t) => {
    const state = readState(settings.dir)
    for (const name of ['prometheus', 'nginx-exporter', 'redis-exporter']) {
      const environ = readFileSync(`/proc/${daemonPid(state, name)}/environ`, 'utf8').split('\0')
      for (const [variable, value] of Object.entries(GO_IDLE_ENV)) t.ok(environ.includes(`${variable}=${value}`), `${name}: ${variable}=${value}`)
    }
    const exported = await (await fetch(`http://127.0.0.1:${settings.redisExporterPort}/metrics`)).text()
    t.match(exported, /^redis_commands_processed_total \d+/m, 'what the drills read')
    t.notMatch(exported, /^(go|process)_/m, 'no Go runtime series of its own')
    t.notMatch(exported, /^redis_config_/m, 'no CONFIG GET at every scrape')
  })

  t.test('requests through nginx: one series per instance, counts equal to what was sent; 10,000 distinct keys add no series', async (t) => {
    const serviceSeries = 'count({job="api", __name__=~"http_.*|store_.*"})'
    // Health checks left out: the watchdog probes each instance every second, which on a slow run adds more than 2%.
    const countsQuery = 'sum by (instance) (http_request_duration_seconds_count{route!~"/health/.*"})'
    // Every label value these requests can produce, once on each instance (its own port): a 404 for a missing key, a 200 for an increment.
    for (const port of apiPortsOf(settings)) {
      await send(2, 1, (i) => i % 2 ? fetch(`http://127.0.0.1:${port}/kv/warm`) : fetch(`http://127.0.0.1:${port}/counters/warm/incr`, { method: 'POST' }))
    }
    await scraped(Date.now())
    const [seriesBefore] = await instantQuery(prom, serviceSeries)
    const before = byInstance(await instantQuery(prom, countsQuery))

    const sent = await send(10_000, 16, (i) => i % 2 ? fetch(`${base}/kv/key-${i}`) : fetch(`${base}/counters/name-${i}/incr`, { method: 'POST' }))
    t.strictSame(Object.keys(sent.byStatus).sort(), ['200', '404'], `answers: ${JSON.stringify(sent.byStatus)}`)
    await scraped(Date.now())

    const rates = await instantQuery(prom, 'sum by (instance) (rate(http_request_duration_seconds_count[30s]))')
    t.strictSame(rates.map((s) => s.labels.instance).sort(), ['api-1', 'api-2', 'api-3', 'api-4'], 'the per-instance rate: four series')
    t.ok(rates.every((s) => s.value > 0), 'each instance served some')

    const after = byInstance(await instantQuery(prom, countsQuery))
    for (const [instance, count] of Object.entries(sent.byInstance)) {
      const counted = (after[instance] ?? 0) - (before[instance] ?? 0)
      t.ok(Math.abs(counted - count) <= count * 0.02, `${instance}: Prometheus counted ${counted}, the client ${count}`)
    }
    const [seriesAfter] = await instantQuery(prom, serviceSeries)
    t.ok(seriesBefore !== undefined && seriesBefore.value > 0)
    t.equal(seriesAfter?.value, seriesBefore?.value, `the service's series: ${seriesBefore?.value} before, ${seriesAfter?.value} after`)
  })

  t.test('a drill with Prometheus on stores each instance\'s series, and their requests add up to the load generator\'s count', async (t) => {
    // The skeleton every drill runs on, with a fault that only marks its middle: the series, not a fault, are under test.
    const fault: Fault = {
      drill: 'steady',
      label: 'steady load, no fault',
      durationSeconds: 5,
      options: {},
      timeline: async (context) => { context.mark('midway', undefined, undefined, 2500) },
      judge: () => []
    }
    const meta = { run: 'observe-test', startedAt: new Date().toISOString(), host: { cpus: 2, node: process.version } }
    const result = await runDrill(localStackTarget(settings), fault, { mix: parseMix('root:25,kv-get:25,kv-set:25,incr:25'), connections: 8, rate: 600 }, meta, { say: () => {} })
    t.strictSame(problemsOf(DrillResultSchema, JSON.parse(JSON.stringify(result))), [], 'the result fits its schema')
    const view = result.prometheus
    t.equal(view?.url, `http://127.0.0.1:${prom}`)
    t.equal(view?.error, undefined)
    const of = (name: string) => (view?.series ?? []).filter((s) => s.name === name)
    const instances = ['api-1', 'api-2', 'api-3', 'api-4']
    for (const name of ['requests', 'errors-5xx', 'p99-ms', 'event-loop-lag-ms']) {
      t.strictSame(of(name).map((s) => s.instance), instances, `${name}: one series per instance`)
      t.ok(of(name).every((s) => s.points.length >= 3), `${name}: points over the load`)
    }
    t.ok(of('requests').every((s) => s.points[0]!.t <= 0 && s.points.at(-1)!.t >= result.load.durationSeconds - 1), 'counters: from the scrape before the load to one after it')
    const counted = of('requests').map((s) => increaseOf(s.points))
    t.ok(counted.every((n) => n > 0), `each instance served: ${counted.join(', ')}`)
    const total = counted.reduce((a, b) => a + b, 0)
    t.ok(Math.abs(total - result.load.requests) <= result.load.requests * COUNT_TOLERANCE, `Prometheus counted ${total}, the load generator ${result.load.requests}`)
    t.match(result.verdict.checks.at(-1), { name: 'requests the instances counted (Prometheus) vs the load generator', expected: 'within 2%', pass: true, informational: true }, 'the drill\'s row')
    t.strictSame(of('errors-5xx').map((s) => increaseOf(s.points)), [0, 0, 0, 0], 'no 5xx')
    t.ok(of('redis-commands').length === 1 && increaseOf(of('redis-commands')[0]!.points) > 0, 'Redis ran commands')

    const blocks = prometheusBlocks('steady.json', result)
    t.strictSame(blocks.map((b) => b.type), ['chart', 'text', 'text', 'chart'], 'the series chart, the count, the balancer\'s view and its chart')
    t.match(blocks[1], { text: /within the 2% target/ })
  })

  t.test('an edited prometheus.yml is put back on `up`, and Prometheus reloads it in place (SIGHUP)', async (t) => {
    const dir = stackPaths(settings.dir).prometheus
    const pid = daemonPid(readState(settings.dir), 'prometheus')
    const file = join(dir, 'prometheus.yml')
    const generated = readFileSync(file, 'utf8')
    writeFileSync(file, generated.replace('"scrape_interval": "1s"', '"scrape_interval": "1m"'))
    await up(settings)
    t.equal(readFileSync(file, 'utf8'), generated, 'the generated configuration again')
    t.equal(daemonPid(readState(settings.dir), 'prometheus'), pid, 'the same process')
    await waitFor('the reload', () => /Completed loading of configuration file/.test(readFileSync(join(dir, 'prometheus.log'), 'utf8').split('Server is ready')[1] ?? ''), 10_000, 100)
    t.ok(await prometheusAnswers(prom))
  })

  t.test('OBSERVE=0 on the running stack stops Prometheus and the exporters, by PID; OBSERVE=1 brings them back', async (t) => {
    const pids = ['prometheus', 'nginx-exporter', 'redis-exporter'].map((name) => daemonPid(readState(settings.dir), name))
    t.ok(pids.every((pid) => pid !== undefined && isAlive(pid)), `recorded: ${pids.join(', ')}`)
    await up({ ...settings, observe: false })
    t.ok(pids.every((pid) => !isAlive(pid!)), 'all three stopped')
    t.strictSame(await busyPorts([prom, settings.nginxExporterPort, settings.redisExporterPort]), [])
    const off = await status(settings.dir)
    t.equal(off.observe, null)
    t.equal(off.throughNginx?.reached.length, 4, 'the rest runs on')
    await up(settings)
    const on = await status(settings.dir)
    t.ok(on.observe?.daemons.every((d) => d.answers && d.pid !== null), 'running again')
    t.strictSame(on.observe?.targets?.map((target) => `${target.job}/${target.instance}:${target.health}`).sort(),
      ['api/api-1:up', 'api/api-2:up', 'api/api-3:up', 'api/api-4:up', 'nginx/nginx:up', 'prometheus/prometheus:up', 'redis/redis:up'])
  })
})

t.test('a Prometheus port taken by someone else: a clear error naming PROM_PORT, and what was started is stopped', async (t) => {
  const settings = await freshStackSettings()
  t.teardown(() => down(settings.dir, { purge: true }))
  const taken = createServer()
  await new Promise<void>((resolve) => taken.listen(settings.promPort, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => taken.close(() => resolve())))
  await t.rejects(up(settings), { name: 'StackError', message: new RegExp(`port ${settings.promPort} is taken[\\s\\S]*PROM_PORT=<port> npm start \\(or OBSERVE=0`) })
  t.equal(readState(settings.dir), null, 'no state recorded')
  t.strictSame(await busyPorts(stackPorts(settings).filter((port) => port !== settings.promPort)), [], 'Redis, the instances, nginx and the exporters it started are stopped')
})
