import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t, { type Test } from 'tap'
import { parse } from 'yaml'
import { findBinary } from '../src/lab/system/binaries.js'
import { PROJECT_DIR } from '../src/lab/paths.js'
import { prometheusConfig } from '../src/lab/stack/prometheus.js'
import { stackSettings } from '../src/lab/stack/settings.js'
import { build } from './helper.js'

// The observability files of the containers (docker-compose.yml's `observe`
// profile, prometheus/, grafana/), checked without an engine, and the local
// stack's generated Prometheus configuration, checked by promtool.

const run = promisify(execFile)
const read = (...path: string[]) => readFileSync(join(PROJECT_DIR, ...path), 'utf8')
const services = parse(read('docker-compose.yml')).services
const dashboard = JSON.parse(read('grafana', 'dashboards', 'scale-lab.json')) as { uid: string, panels: Array<{ title: string, targets: Array<{ expr: string }> }> }

/** PromQL's functions and aggregations the dashboard uses: every other name in an expression is a metric. */
const PROMQL_WORDS = new Set(['sum', 'max', 'min', 'avg', 'count', 'rate', 'irate', 'increase', 'histogram_quantile', 'by', 'without'])

/** The metric names an expression reads (label matchers, grouping labels and ranges stripped). */
function metricNames (expr: string): string[] {
  const bare = expr.replace(/\{[^}]*\}/g, '').replace(/\[[^\]]*\]/g, '').replace(/\b(by|without)\s*\([^)]*\)/g, '')
  return [...bare.matchAll(/[a-zA-Z_:][\w:]*/g)].map((m) => m[0]).filter((word) => !PROMQL_WORDS.has(word))
}

async function promtool (t: Test, file: string) {
  const binary = findBinary('promtool')
  t.ok(binary, 'promtool is installed (npm run setup installs prometheus)')
  if (!binary) return
  const { stdout } = await run(binary, ['check', 'config', file])
  t.match(stdout, /SUCCESS/)
}

t.test("the containers' Prometheus: promtool accepts its configuration; it scrapes each instance on its own port", async (t) => {
  await promtool(t, join(PROJECT_DIR, 'prometheus', 'prometheus.yml'))
  const config = parse(read('prometheus', 'prometheus.yml'))
  const api = config.scrape_configs.find((job: { job_name: string }) => job.job_name === 'api')
  const targets = api.static_configs.flatMap((c: { targets: string[] }) => c.targets)
  t.strictSame(targets, services.api.expose.map((port: string) => `api:${port}`), "every port the api container exposes, never nginx's")
  t.equal(config.global.scrape_interval, '1s')
})

t.test("the local stack's generated configuration passes promtool too", async (t) => {
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const dir = mkdtempSync(join(tmpdir(), 'sl-prom-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'prometheus.yml'), prometheusConfig(stackSettings({ instances: 3 }, {})))
  await promtool(t, join(dir, 'prometheus.yml'))
  const config = parse(readFileSync(join(dir, 'prometheus.yml'), 'utf8'))
  t.strictSame(config.scrape_configs.map((job: { job_name: string }) => job.job_name), ['api', 'nginx', 'redis', 'prometheus'])
  t.strictSame(config.scrape_configs[0].static_configs.map((c: { targets: string[], labels: { instance: string } }) => `${c.labels.instance}@${c.targets[0]}`),
    ['api-1@127.0.0.1:3001', 'api-2@127.0.0.1:3002', 'api-3@127.0.0.1:3003'], 'INSTANCES decides the targets')
})

t.test('compose: Prometheus and Grafana under the observe profile, remote write on, provisioned from the repo', async (t) => {
  const { prometheus, grafana } = services
  t.strictSame(prometheus.profiles, ['observe'])
  t.strictSame(grafana.profiles, ['observe'])
  t.ok(prometheus.command.includes('--web.enable-remote-write-receiver'), "k6's experimental-prometheus-rw output can push to it")
  t.ok(prometheus.volumes.includes('./prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro'))
  t.ok(prometheus.ports.every((port: string) => port.startsWith('127.0.0.1:')), 'published on this machine only')
  const datasource = parse(read('grafana', 'provisioning', 'datasources', 'prometheus.yml')).datasources[0]
  t.equal(datasource.url, 'http://prometheus:9090', 'the compose Prometheus')
  const provider = parse(read('grafana', 'provisioning', 'dashboards', 'scale-lab.yml')).providers[0]
  t.ok(grafana.volumes.includes(`./grafana/dashboards:${provider.options.path}:ro`), 'the dashboards folder is where the provider looks')
  t.ok(grafana.volumes.includes('./grafana/provisioning:/etc/grafana/provisioning:ro'))
})

t.test('the dashboard: every PromQL expression names metrics that a live scrape of the service exposes', async (t) => {
  const app = await build(t, { STORE: 'memory' })
  // A read, a write and a miss: every labelled series the expressions use has a sample.
  await app.inject({ method: 'POST', url: '/counters/c/incr' })
  await app.inject('/kv/missing')
  const exposition = (await app.inject('/metrics')).body
  const exposed = new Set(exposition.split('\n').filter((line) => line !== '' && !line.startsWith('#')).map((line) => /^[\w:]+/.exec(line)![0]))
  const names = new Set<string>()
  for (const panel of dashboard.panels) {
    t.ok(panel.targets.length > 0, `${panel.title}: has a query`)
    for (const target of panel.targets) {
      const used = metricNames(target.expr)
      t.ok(used.length > 0, `${panel.title}: reads a metric`)
      for (const name of used) names.add(name)
    }
  }
  for (const name of names) t.ok(exposed.has(name), `${name} is exposed`)
  t.ok(dashboard.panels.some((p) => p.targets.some((q) => /by \(instance\)/.test(q.expr))), 'per instance')
  t.strictSame(metricNames('sum by (instance) (rate(x_total{a="b"}[1m])) / max(y_seconds)'), ['x_total', 'y_seconds'], 'the extraction itself')
})
