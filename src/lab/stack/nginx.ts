import { execFile } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { requireBinary } from '../system/binaries.js'
import type { DaemonSpec } from '../system/supervisor.js'
import { NGINX_TEMPLATE } from '../paths.js'
import { probe } from './probe.js'

const run = promisify(execFile)

/** The values the template's ${SL_*} placeholders take. */
export interface NginxTemplateValues {
  /** `listen` argument: "127.0.0.1:8080" locally, "80" in the container. */
  SL_LISTEN: string
  /** How nginx picks an instance: `least_conn;`, or a comment for round robin (the "before"). */
  SL_BALANCE: string
  /** One `server host:port max_fails=1 fail_timeout=1s;` per instance. */
  SL_UPSTREAM_SERVERS: string
  /** The same instances for GET /work, each with its `max_conns` bound (docs/gray-failures.md, "Shedding at the edge"). */
  SL_WORK_UPSTREAM_SERVERS: string
  SL_UPSTREAM_KEEPALIVE: string
  SL_NEXT_UPSTREAM: string
  SL_NEXT_UPSTREAM_TRIES: string
  /** proxy_read_timeout of the fast routes (all but /work). */
  SL_READ_TIMEOUT: string
  /** proxy_read_timeout of GET /work, the deliberately slow route. */
  SL_SLOW_READ_TIMEOUT: string
  SL_ACCESS_LOG: string
  /** `listen` argument of the stub_status server: "127.0.0.1:8081", local only. */
  SL_STATUS_LISTEN: string
  /** limit_req_zone's rate: "100000r/s". */
  SL_CLIENT_RATE: string
  /** The `limit_req` line, or a comment when the rate limit is off. */
  SL_LIMIT_REQ: string
  /** The `limit_conn` line, or a comment when it is off. */
  SL_LIMIT_CONN: string
  /** GET /work's `limit_conn` line per client, or a comment when it is off. */
  SL_LIMIT_WORK: string
  /** The Host allow-list, as `map` lines: "    localhost 1;". */
  SL_KNOWN_HOSTS: string
  /** `add_header x-upstream ...`, or a comment when the header is off. */
  SL_UPSTREAM_HEADER: string
}

/** The edge's per-client limits and what it tells clients (docs/hardening.md, "The edge"). */
export interface EdgeOptions {
  /** Requests per second per client address; 0 turns the limit off. */
  clientRate: number
  /** Requests a client may send at once beyond its rate (answered at once, not queued). */
  clientBurst: number
  /** Connections with a request in progress per client address; 0 turns the limit off. */
  clientConnections: number
  /** `GET /work` requests in flight per client address; 0: no bound but the fleet's (`max_conns`). */
  clientWork: number
  /** Host names answered (nginx `server_name` syntax: `example.com`, `*.example.com`); others get 421. */
  knownHosts: string[]
  /** Add `x-upstream` (the instance's address:port) to answers: the lab's view, a stranger's map. */
  upstreamHeader: boolean
}

/**
 * The edge's defaults, the local stack's and the container's: far above what the lab's
 * load sends from one address (the bench: up to ~30k req/s through the stack on 100-400
 * connections), so no drill or bench meets them; GET /work's is off (the overload lesson's
 * one generator stands for many clients). A deployment lowers them; the abuse drill does.
 */
export const EDGE_DEFAULTS: EdgeOptions = {
  clientRate: 100_000,
  clientBurst: 10_000,
  clientConnections: 1000,
  clientWork: 0,
  knownHosts: ['localhost', '127.0.0.1'],
  upstreamHeader: false
}

/**
 * Connections per nginx worker, client and upstream ones together (a proxied
 * request holds one of each), and the open files each worker may hold (2× that:
 * a socket is a file, plus logs). 4,096 let 8,300 half-sent headers starve nginx.
 */
export const WORKER_CONNECTIONS = 8192

export interface BalancerOptions {
  listen: string
  /** host:port of each instance. */
  upstreams: string[]
  /** Upstream keepalive connections per worker; 0 turns keepalive off. */
  keepalive: number
  /** Retry POSTs on the next instance too (needs idempotent mutations). */
  retryNonIdempotent: boolean
  /** Short per-route read timeouts, and an instance out of rotation on its first failure; false: the old 10 s, never out. */
  passiveHealth: boolean
  /** Retry 502 and 503 answers too, 4 tries (the old policy). */
  retryShed: boolean
  /**
   * GET /work requests nginx lets one instance hold at once (`max_conns`); with every
   * instance at it, nginx refuses the request itself: 503 SL_OVERLOADED at once. 0: no bound.
   */
  workMaxConns: number
  /** File for the (buffered) access log, or null for `access_log off`. */
  accessLogFile: string | null
  /** Where stub_status listens (for the nginx exporter): a local address only. */
  statusListen: string
  edge: EdgeOptions
  /** nginx's worker processes: one per core (`auto`, the default), or a number (the bench's 1-worker variant). */
  workerProcesses?: number
}

/**
 * The retry conditions: a try that failed (no connection, a connection closed
 * before any answer, a timeout) is retried on the next instance, POSTs included
 * (safe: a retried mutation applies once). An answer is never retried: a 503 says
 * the instance is shedding or the shared store is down, and every other instance
 * would say the same, at the cost of more work.
 */
export const NEXT_UPSTREAM_WITH_RETRY = 'error timeout non_idempotent'
/** nginx's default, which never retries a POST (the kill drill's "before"). */
export const NEXT_UPSTREAM_DEFAULT = 'error timeout'
/** The old policy (retryShed): 502s and 503s retried too. */
export const NEXT_UPSTREAM_RETRY_SHED = 'http_502 http_503'

/**
 * The per-route budgets (passiveHealth): how long nginx waits for an instance's
 * answer before it calls the instance frozen and retries elsewhere, and how long
 * that instance then stays out of rotation. The fast routes' budget sits above the
 * service's own worst answer — a 503 once its 400 ms Redis command timeout fires —
 * so a slow Redis is never taken for a frozen instance; /work may legitimately
 * take seconds (up to 999 ms of CPU, shared by the works running at once).
 * docs/stack.md has the measurements behind each number.
 */
export const PASSIVE_HEALTH = { readTimeout: '1s', slowReadTimeout: '5s', failTimeout: '1s', tries: 3 } as const
/** The "before" picture: every route waits 10 s, no instance is ever taken out, 4 tries. */
export const LEGACY_UPSTREAM = { readTimeout: '10s', slowReadTimeout: '10s', tries: 4 } as const

/**
 * An upstream's `server` lines: each instance, then (passiveHealth) each again as a
 * panic backup. With `maxConns` (GET /work's bound) a backup holds one at most: it is
 * used whenever every instance above is out *or full*, and unbounded it would take
 * all the load nginx means to refuse. A dead instance's backup refuses at once, never
 * full: "every instance dead" still ends in addresses tried, 502 SL_NO_INSTANCE.
 */
export function upstreamServers (options: BalancerOptions, health: string, maxConns = 0): string {
  const [bound, backupBound] = maxConns > 0 ? [` max_conns=${maxConns}`, ' max_conns=1'] : ['', '']
  return [
    ...options.upstreams.map((address) => `    server ${address} ${health}${bound};`),
    ...(options.passiveHealth ? options.upstreams.map((address) => `    server ${address} backup max_fails=0${backupBound};`) : [])
  ].join('\n')
}

export function templateValues (options: BalancerOptions): NginxTemplateValues {
  const health = options.passiveHealth ? `max_fails=1 fail_timeout=${PASSIVE_HEALTH.failTimeout}` : 'max_fails=0'
  const limits = options.passiveHealth ? PASSIVE_HEALTH : LEGACY_UPSTREAM
  const retry = options.retryNonIdempotent ? NEXT_UPSTREAM_WITH_RETRY : NEXT_UPSTREAM_DEFAULT
  return {
    SL_LISTEN: options.listen,
    // Fewest requests in flight first: a frozen instance holds every request it was
    // given, so it stops getting new ones within a few, long before its first read
    // timeout takes it out of rotation (round robin kept giving it a quarter).
    SL_BALANCE: options.passiveHealth ? 'least_conn;' : '# round robin (nginx\'s default)',
    // Panic routing: the same instances again as backups that are never taken out,
    // used only while every one above is out of rotation (a machine so busy that all
    // of them missed the read timeout at once): slow answers, not "no live upstreams".
    SL_UPSTREAM_SERVERS: upstreamServers(options, health),
    SL_WORK_UPSTREAM_SERVERS: upstreamServers(options, health, options.workMaxConns),
    SL_UPSTREAM_KEEPALIVE: options.keepalive > 0
      ? `keepalive ${options.keepalive};`
      : '# keepalive off: a new connection to an instance for every request',
    SL_NEXT_UPSTREAM: options.retryShed ? `${retry} ${NEXT_UPSTREAM_RETRY_SHED}` : retry,
    SL_NEXT_UPSTREAM_TRIES: String(options.retryShed ? LEGACY_UPSTREAM.tries : limits.tries),
    SL_READ_TIMEOUT: limits.readTimeout,
    SL_SLOW_READ_TIMEOUT: limits.slowReadTimeout,
    SL_ACCESS_LOG: options.accessLogFile === null ? 'off' : `${options.accessLogFile} scale_lab buffer=64k flush=1s`,
    SL_STATUS_LISTEN: options.statusListen,
    ...edgeValues(options.edge)
  }
}

/** A directive when its setting is on, else a comment saying what is off. */
const directiveOr = (on: boolean, directive: string, off: string) => (on ? directive : `# ${off}`)

/** The edge's placeholders. A limit that is off still needs a valid zone rate: the zone is then unused. */
export function edgeValues (edge: EdgeOptions): Pick<NginxTemplateValues, 'SL_CLIENT_RATE' | 'SL_LIMIT_REQ' | 'SL_LIMIT_CONN' | 'SL_LIMIT_WORK' | 'SL_KNOWN_HOSTS' | 'SL_UPSTREAM_HEADER'> {
  return {
    SL_CLIENT_RATE: `${Math.max(1, edge.clientRate)}r/s`,
    SL_LIMIT_REQ: directiveOr(edge.clientRate > 0, `limit_req zone=sl_client_rate burst=${edge.clientBurst} nodelay;`, 'no request rate limit per client'),
    SL_LIMIT_CONN: directiveOr(edge.clientConnections > 0, `limit_conn sl_client_connections ${edge.clientConnections};`, 'no connection limit per client'),
    SL_LIMIT_WORK: directiveOr(edge.clientWork > 0, `limit_conn sl_client_work ${edge.clientWork};`, 'no bound on GET /work per client'),
    SL_KNOWN_HOSTS: edge.knownHosts.map((host) => `    ${host} 1;`).join('\n'),
    SL_UPSTREAM_HEADER: directiveOr(edge.upstreamHeader, 'add_header x-upstream $upstream_addr always;', 'no x-upstream header')
  }
}

/** Fills the template's ${SL_*} placeholders, as the nginx image's envsubst does. Unknown ones are an error. */
export function renderTemplate (values: NginxTemplateValues, template = readFileSync(NGINX_TEMPLATE, 'utf8')): string {
  return template.replace(/\$\{(SL_[A-Z_]+)\}/g, (_, name: string) => {
    const value = (values as unknown as Record<string, string | undefined>)[name]
    if (value === undefined) throw new Error(`nginx template: no value for \${${name}}`)
    return value
  })
}

/** Debian's nginx runs its workers as this user when started by root. */
function workerUser (): string {
  const groups = existsSync('/etc/group') ? readFileSync('/etc/group', 'utf8') : ''
  return /^nogroup:/m.test(groups) ? 'nobody nogroup' : 'nobody nobody'
}

/**
 * The process-level wrapper around the shared template, for a local nginx with
 * its own prefix folder (pid, logs, temp files): it never touches a system nginx.
 */
export function mainConfig (prefix: string, workerProcesses: number | 'auto' = 'auto'): string {
  const temp = join(prefix, 'temp')
  return [
    '# Generated by scale-lab (src/lab/stack/nginx.ts): the process-level wrapper around',
    '# nginx/scale-lab.conf.template for a local nginx. The container uses the image\'s own.',
    `worker_processes ${workerProcesses};`,
    `worker_rlimit_nofile ${2 * WORKER_CONNECTIONS};`,
    ...(process.getuid?.() === 0 ? [`user ${workerUser()};`] : []),
    `pid ${join(prefix, 'nginx.pid')};`,
    `error_log ${join(prefix, 'logs', 'error.log')} warn;`,
    'events {',
    `    worker_connections ${WORKER_CONNECTIONS};`,
    '}',
    'http {',
    `    client_body_temp_path ${join(temp, 'client_body')};`,
    `    proxy_temp_path ${join(temp, 'proxy')};`,
    `    fastcgi_temp_path ${join(temp, 'fastcgi')};`,
    `    uwsgi_temp_path ${join(temp, 'uwsgi')};`,
    `    scgi_temp_path ${join(temp, 'scgi')};`,
    `    include ${join(prefix, 'conf', 'scale-lab.conf')};`,
    '}',
    ''
  ].join('\n')
}

/**
 * Writes the rendered configuration into `prefix` and checks it with `nginx -t`.
 * Resolves true when the configuration differs from what was there before.
 */
export async function writeNginxConfig (prefix: string, options: BalancerOptions): Promise<boolean> {
  for (const dir of ['conf', 'logs', 'temp']) mkdirSync(join(prefix, dir), { recursive: true })
  // Workers run as nobody when root starts nginx: they must be able to write temp files.
  chmodSync(join(prefix, 'temp'), 0o777)
  const files = {
    [join(prefix, 'conf', 'scale-lab.conf')]: renderTemplate(templateValues(options)),
    [join(prefix, 'conf', 'nginx.conf')]: mainConfig(prefix, options.workerProcesses)
  }
  let changed = false
  for (const [file, content] of Object.entries(files)) {
    if (existsSync(file) && readFileSync(file, 'utf8') === content) continue
    writeFileSync(file, content)
    changed = true
  }
  try {
    await run(requireBinary('nginx'), ['-t', '-q', '-p', prefix, '-c', join(prefix, 'conf', 'nginx.conf')])
  } catch (err) {
    throw new Error(`nginx rejected the rendered configuration: ${(err as { stderr?: string }).stderr ?? err}`)
  }
  return changed
}

/**
 * A local nginx for the supervisor to start: the master in the foreground (of its
 * own process group when detached), on the configuration writeNginxConfig put in
 * `prefix`; ready once it answers /nginx-health on `port`. SIGQUIT stops it
 * gracefully: the workers finish their requests first.
 */
export function nginxSpec (name: string, prefix: string, port: number): DaemonSpec {
  return {
    name,
    role: 'balancer',
    command: requireBinary('nginx'),
    args: ['-p', prefix, '-c', join(prefix, 'conf', 'nginx.conf'), '-g', 'daemon off;'],
    logFile: join(prefix, 'logs', 'nginx.out.log'),
    errorLog: join(prefix, 'logs', 'error.log'),
    port,
    ready: () => nginxAnswers(port),
    waitingFor: `nginx to answer on port ${port}`,
    stopSignal: 'SIGQUIT'
  }
}

/** Applies a new configuration without dropping connections: SIGHUP starts new workers, old ones drain. */
export async function reloadNginx (pid: number): Promise<void> {
  process.kill(pid, 'SIGHUP')
  // The master answers HUP by starting new workers; give them a moment to take over.
  await new Promise((resolve) => setTimeout(resolve, 300))
}

/** True when nginx answers /nginx-health by itself (within 1 s). */
export async function nginxAnswers (port: number): Promise<boolean> {
  return (await probe(port, '/nginx-health', 1000))?.status === 200
}

export async function nginxVersion (): Promise<string> {
  const { stderr } = await run(requireBinary('nginx'), ['-v'])
  return stderr.trim().replace(/^nginx version: nginx\//, '')
}
