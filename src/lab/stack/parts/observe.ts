import { join } from 'node:path'
import { requireBinary } from '../../system/binaries.js'
import { isTaken } from '../../system/ports.js'
import { waitFor } from '../../system/process.js'
import { probe } from '../probe.js'
import { GO_IDLE_ENV, prometheusAnswers, prometheusSpec, scrapeHealth, writePrometheusConfig, type TargetHealth } from '../prometheus.js'
import type { StackSettings } from '../settings.js'
import { stackRedisPassword } from './redis.js'
import { daemonPart, sayPart, StackError, type DaemonStatus, type PartContext, type StackPart } from './part.js'

/** The system packages (and binaries) that observing the stack needs. */
export const OBSERVE_BINARIES = ['prometheus', 'prometheus-nginx-exporter', 'prometheus-redis-exporter'] as const

/** Refuses a port that something this stack did not start listens on, naming the variable that moves it. */
async function checkFree (port: number, variable: string): Promise<void> {
  if (await isTaken(port)) {
    throw new StackError(`port ${port} is taken by a server this stack did not start. Stop it, or choose another port: ${variable}=<port> npm start (or OBSERVE=0 npm start)`)
  }
}

const metricsAnswer = async (port: number) => (await probe(port, '/metrics', 1000))?.status === 200

/**
 * An exporter: started with flags and only the environment given here (the shell's
 * REDIS_PASSWORD and the like would change what it does), the Go runtime's idle
 * settings included.
 */
function exporterPart (name: string, binary: string, port: (settings: StackSettings) => number, variable: string, flags: (settings: StackSettings) => string[],
  env: (settings: StackSettings) => Record<string, string> = () => ({})) {
  return daemonPart({
    name,
    port,
    spec: ({ settings, paths }) => ({
      name,
      role: 'observer',
      command: requireBinary(binary),
      args: [...flags(settings), `-web.listen-address=127.0.0.1:${port(settings)}`],
      env: { PATH: process.env.PATH, ...GO_IDLE_ENV, ...env(settings) },
      logFile: join(paths.logs, `${name}.log`),
      port: port(settings),
      ready: () => metricsAnswer(port(settings)),
      waitingFor: `${name} to serve /metrics on port ${port(settings)}`
    }),
    answers: (settings) => metricsAnswer(port(settings)),
    checkPort: (settings) => checkFree(port(settings), variable)
  })
}

/** nginx's stub_status (its local-only listener) as Prometheus metrics. */
export const nginxExporterPart = exporterPart('nginx-exporter', 'prometheus-nginx-exporter', (s) => s.nginxExporterPort, 'NGINX_EXPORTER_PORT',
  (s) => [`-nginx.scrape-uri=http://127.0.0.1:${s.nginxStatusPort}/stub_status`])

/** Redis's INFO as Prometheus metrics (in sentinel mode: the node on REDIS_PORT). */
export const redisExporterPart = exporterPart('redis-exporter', 'prometheus-redis-exporter', (s) => s.redisExporterPort, 'REDIS_EXPORTER_PORT',
  // Less work a scrape, for what nothing reads: -config-command=- skips CONFIG GET *
  // (~250 µs of Redis and its ~200 settings parsed, every second; maxmemory is in
  // INFO anyway), -redis-only-metrics the exporter's own Go runtime series, and
  // -set-client-name=false one command on the connection it opens for each scrape.
  (s) => [`-redis.addr=redis://127.0.0.1:${s.redisPort}`, '-config-command=-', '-redis-only-metrics', '-set-client-name=false'],
  // Redis has a password in either mode (its admin's, the exporter runs INFO, SLOWLOG
  // and LATENCY); in the environment, never on the command line that `ps` shows.
  (s): Record<string, string> => {
    const password = stackRedisPassword(s)
    return password === undefined ? {} : { REDIS_PASSWORD: password }
  })

/**
 * Prometheus: its configuration regenerated on every `up` (reloaded with SIGHUP
 * when the targets changed), and up once every target has been scraped.
 */
export const prometheusPart = daemonPart({
  name: 'prometheus',
  port: (settings) => settings.promPort,
  spec: ({ settings, paths }) => prometheusSpec(paths.prometheus, settings.promPort),
  answers: (settings) => prometheusAnswers(settings.promPort),
  checkPort: (settings) => checkFree(settings.promPort, 'PROM_PORT'),
  detail: () => 'scraping every 1 s',
  configure: ({ settings, paths }) => writePrometheusConfig(paths.prometheus, settings),
  reload: async (pid) => { process.kill(pid, 'SIGHUP') },
  settle: ({ settings }) => waitFor('every scrape target to be up', async () => {
    const targets = await scrapeHealth(settings.promPort)
    return targets.length === settings.instances + 3 && targets.every((t) => t.health === 'up')
  }, 20_000, 250)
})

const OBSERVERS = [nginxExporterPart, redisExporterPart, prometheusPart]

/**
 * Prometheus and the exporters (OBSERVE=1, the default), after nginx: they scrape
 * what is already up. OBSERVE=0 leaves them out, and stops them on a running
 * stack that had them.
 */
export const observePart: StackPart = {
  name: 'observe',
  async up (ctx) {
    if (ctx.settings.observe) {
      for (const part of OBSERVERS) await part.up(ctx)
      return
    }
    if (await observePart.down(ctx)) sayPart(ctx, 'observe', 'left out (OBSERVE=0)')
    ctx.supervisor.forget(OBSERVERS.map((part) => part.name))
  },
  async down (ctx) {
    let stopped = false
    for (const part of [...OBSERVERS].reverse()) stopped = (await part.down(ctx)) || stopped
    return stopped
  }
}

export interface ObserveStatus {
  daemons: Array<DaemonStatus & { name: string, port: number }>
  /** Prometheus's view of its targets, or null when it does not answer. */
  targets: TargetHealth[] | null
}

/** Each observer's process, and each scrape target's health as Prometheus sees it. */
export async function observeStatus (ctx: PartContext): Promise<ObserveStatus> {
  const ports = [ctx.settings.nginxExporterPort, ctx.settings.redisExporterPort, ctx.settings.promPort]
  const daemons = await Promise.all(OBSERVERS.map(async (part, i) => ({ name: part.name, port: ports[i]!, ...await part.status(ctx) })))
  try {
    return { daemons, targets: await scrapeHealth(ctx.settings.promPort) }
  } catch {
    return { daemons, targets: null }
  }
}
