import { Option, type Command } from 'commander'
import { settingsOverRunning, stackDir } from '../stack/settings.js'
import type { RedisMemory } from '../stack/parts/redis.js'
import { down, status, up, type StackStatus } from '../stack/stack.js'
import { readState } from '../stack/state.js'
import { textTable } from '../report/text-table.js'

const say = (line: string) => console.log(line)

/** `up`, `down`, `status`: the local stack without Docker. */
export function registerStackCommands (program: Command): void {
  program.command('up')
    .description('bring the local stack up (Redis, PM2 x INSTANCES, nginx, Prometheus and exporters unless OBSERVE=0); idempotent')
    .addOption(new Option('--store <store>', 'the store (default: $STORE or redis)').choices(['redis', 'memory']))
    .action(async (options: { store?: 'redis' | 'memory' }) => {
      const running = readState(stackDir())?.settings ?? null
      const settings = settingsOverRunning(running, options.store ? { store: options.store } : {})
      const started = performance.now()
      await up(settings, say)
      const seconds = ((performance.now() - started) / 1000).toFixed(1)
      const base = settings.lbPort === 80 ? 'http://localhost' : `http://localhost:${settings.lbPort}`
      const store = settings.redisMode === 'sentinel'
        ? `, REDIS_MODE=sentinel: a primary, ${settings.replicaPorts.length} replicas, ${settings.sentinelPorts.length} Sentinels${settings.durable ? ', REDIS_DURABLE=1' : ''}`
        : ''
      console.log(`\nThe stack is up in ${seconds} s: nginx balances over ${settings.instances} instances (least_conn) (STORE=${settings.store}${store}).`)
      console.log(`  curl -i ${base}/            # x-instance names who answered; run it a few times`)
      console.log(`  curl -s -X POST ${base}/counters/visits/incr`)
      console.log('  npm run stack:status        # each part, and whether nginx reaches every instance')
      if (settings.observe) console.log(`  curl -s '127.0.0.1:${settings.promPort}/api/v1/query?query=up'   # Prometheus: every scrape target`)
      console.log('  npm stop                    # take it all down')
    })

  program.command('down')
    .description('stop exactly what `up` started, by PID')
    .option('--purge', 'also delete the state folder (Redis data, logs)')
    .action(async (options: { purge?: boolean }) => {
      const report = await down(stackDir(), { purge: options.purge === true }, say)
      if (report.portsInUse.length > 0) {
        console.error(`still listening after down: ${report.portsInUse.join(', ')}`)
        process.exitCode = 1
      } else {
        console.log('The stack is down.')
      }
    })

  program.command('status')
    .description('show each part of the stack and whether nginx reaches every instance')
    .option('--json', 'print the status as JSON')
    .action(async (options: { json?: boolean }) => {
      const result = await status(stackDir())
      if (options.json) console.log(JSON.stringify(result, null, 2))
      else printStatus(result)
      if (!healthy(result)) process.exitCode = 1
    })
}

function healthy (s: StackStatus): boolean {
  return s.up && s.redis?.answers === true && s.nginx?.answers === true && (s.replicated === null || s.replicated.whole) &&
    (s.settings?.watchdog !== true || s.watchdog?.answers === true) &&
    s.apps.length === s.settings?.instances && s.apps.every((a) => a.status === 'online' && a.ready) &&
    s.throughNginx?.reached.length === s.throughNginx?.expected && observed(s)
}

/** OBSERVE=0, or every observer answers and every scrape target is up. */
function observed (s: StackStatus): boolean {
  if (s.observe === null) return true
  return s.observe.daemons.every((d) => d.answers) && s.observe.targets !== null && s.observe.targets.every((t) => t.health === 'up')
}

/** Prometheus and the exporters, then each scrape target as Prometheus sees it. */
function printObserve (o: NonNullable<StackStatus['observe']>): void {
  console.log(textTable(['observer', 'status', 'pid', 'port'], o.daemons.map((d) => [d.name, d.answers ? 'ok' : 'DOWN', String(d.pid ?? '-'), String(d.port)])))
  if (o.targets === null) {
    console.log('scrape targets: Prometheus does not answer')
    return
  }
  console.log(textTable(['job', 'target', 'scraped at', 'health', 'last error'], o.targets.map((t) => [t.job, t.instance, t.scrapeUrl, t.health, t.lastError || '-'])))
}

/** Sentinel mode: who is primary, each replica's lag, what each Sentinel thinks. */
function printReplicated (r: NonNullable<StackStatus['replicated']>, durable: boolean, memory: RedisMemory | null): void {
  const whole = r.whole ? 'whole' : `NOT whole: ${r.problem}`
  console.log(`redis   sentinel mode (REDIS_DURABLE=${durable ? 1 : 0}): primary ${r.primaryPort ?? 'none agreed on'}, ${whole}; the primary's ${memoryLine(memory)}`)
  const dash = (v: number | null, unit = '') => (v === null ? '-' : `${v}${unit}`)
  console.log(textTable(['node', 'role', 'pid', 'port', 'offset', 'lag bytes', 'lag s'], r.nodes.map((n) => [
    n.name, n.alive ? (n.role ?? 'no answer') : 'DOWN', dash(n.pid), String(n.port), dash(n.offset),
    n.role === 'replica' ? dash(n.lagBytes) : '', n.role === 'replica' ? dash(n.lagSeconds) : ''
  ])))
  console.log(textTable(['sentinel', 'pid', 'port', 'primary', 'flags', 'replicas', 'other sentinels', 'quorum'], r.sentinels.map((n) => [
    n.name, dash(n.pid), String(n.port), n.alive ? dash(n.view?.primaryPort ?? null) : 'DOWN', n.view?.flags ?? '-',
    dash(n.view?.replicas ?? null), dash(n.view?.otherSentinels ?? null), dash(n.view?.quorum ?? null)
  ])))
}

/** "memory 1.2 MB of 512 MB (0%)": how far the store is from refusing writes. */
export function memoryLine (memory: RedisMemory | null): string {
  if (memory === null) return 'memory unknown'
  const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`
  if (memory.maxBytes === 0) return `memory ${mb(memory.usedBytes)}, unbounded`
  return `memory ${mb(memory.usedBytes)} of ${mb(memory.maxBytes)} (${Math.round(100 * memory.usedBytes / memory.maxBytes)}%)`
}

function printStatus (s: StackStatus): void {
  if (!s.up || s.settings === null) {
    console.log('The stack is down (nothing recorded in the state folder). Start it with: npm start')
    return
  }
  const mark = (ok: boolean) => (ok ? 'ok  ' : 'DOWN')
  if (s.replicated === null) console.log(`redis   ${mark(s.redis?.answers === true)} pid ${s.redis?.pid ?? '-'}  port ${s.settings.redisPort}  ${memoryLine(s.redisMemory)}`)
  else printReplicated(s.replicated, s.settings.durable, s.redisMemory)
  console.log(`nginx   ${mark(s.nginx?.answers === true)} pid ${s.nginx?.pid ?? '-'}  port ${s.settings.lbPort}`)
  if (s.watchdog !== null) console.log(`watchdog ${mark(s.watchdog.answers)} pid ${s.watchdog.pid ?? '-'}  (probes each instance's /health/live)`)
  console.log(textTable(['app', 'status', 'pid', 'restarts', 'port', 'ready'],
    s.apps.map((app) => [app.name, app.status, String(app.pid), String(app.restarts), String(app.port ?? '-'), app.ready ? 'yes' : 'no'])))
  const reached = s.throughNginx?.reached ?? []
  console.log(`through nginx: ${reached.length}/${s.throughNginx?.expected ?? 0} instances answered (${reached.join(', ') || 'none'})` +
    ` — STORE=${s.settings.store}`)
  if (s.observe !== null) printObserve(s.observe)
  else console.log('observe: off (OBSERVE=0): no Prometheus, no exporters')
  console.log(healthy(s) ? 'All good.' : 'Something is not right: see above (npm stop && npm start starts afresh).')
}
