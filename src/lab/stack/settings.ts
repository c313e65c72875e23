import { resolve } from 'node:path'
import envSchema from 'env-schema'
import { Type, type Static, type TSchema } from 'typebox'
import { LogLevelSetting, RedisDurableSetting, RedisModeSetting, StoreSetting, WorkConcurrencySetting, WorkQueueSetting } from '../../shared/contract.js'
import { DEFAULT_STACK_DIR } from '../paths.js'
import { TOPOLOGY_DEFAULTS } from '../system/redis-topology.js'
import { EDGE_DEFAULTS } from './nginx.js'

/** One setting the environment gives the stack: its variable, its schema (type, range, default), and how it reads. */
interface EnvSetting<S extends TSchema, T> {
  variable: string
  schema: S
  read: (value: Static<S>) => T
}

function fromEnv<S extends TSchema, T = Static<S>> (variable: string, schema: S, read?: (value: Static<S>) => T): EnvSetting<S, T> {
  return { variable, schema, read: read ?? ((value) => value as T) }
}

/** Redis's AOF fsync policies the lab offers (REDIS_APPENDFSYNC, the Redis drill's --fsync). */
export const APPENDFSYNC_POLICIES = ['everysec', 'always'] as const

const Port = (fallback: number) => Type.Integer({ default: fallback, minimum: 1, maximum: 65535 })

/** A switch: 1 on, 0 off (unset: `fallback`, 0 unless said). */
const Switch = (fallback: '0' | '1' = '0') => Type.Enum(['0', '1'], { default: fallback })

/** "localhost,127.0.0.1": host names (nginx server_name syntax: a leading "*." allowed), separated by commas. */
const HostList = (fallback: string[]) => Type.String({ default: fallback.join(','), pattern: '^(\\*\\.)?[a-z0-9.-]+(,(\\*\\.)?[a-z0-9.-]+)*$' })

/** "6380,6381": a list of ports (each checked for its range by stackSettings). */
const PortList = (fallback: string) => Type.String({ default: fallback, pattern: '^[0-9]{1,5}(,[0-9]{1,5})*$' })
const ports = (list: string) => list.split(',').map(Number)

const Integer = (fallback: number, minimum: number, maximum: number) => Type.Integer({ default: fallback, minimum, maximum })

/**
 * The stack's environment: each setting with its variable and TypeBox schema,
 * read with env-schema like the service's (src/config.ts), sharing the
 * definitions both need (src/shared/contract.ts). A new setting is one line here
 * (a new port also joins SINGLE_PORTS), plus its row in docs/stack.md.
 */
const ENV_SETTINGS = {
  /** State folder: Redis data, PM2_HOME, nginx prefix, logs, state.json. */
  dir: fromEnv('STACK_DIR', Type.String({ default: DEFAULT_STACK_DIR, minLength: 1 }), (dir) => resolve(dir)),
  lbPort: fromEnv('LB_PORT', Port(80)),
  redisPort: fromEnv('REDIS_PORT', Port(6379)),
  /** api-1 listens here, api-2 on the next port, and so on. */
  apiBasePort: fromEnv('API_BASE_PORT', Type.Integer({ default: 3001, minimum: 1, maximum: 65000 })),
  instances: fromEnv('INSTANCES', Type.Integer({ default: 4, minimum: 1, maximum: 16 })),
  store: fromEnv('STORE', StoreSetting),
  /** The instances' LOG_LEVEL (warn: info logs every request, at half the throughput). */
  logLevel: fromEnv('LOG_LEVEL', LogLevelSetting('warn')),
  /** GET /work at once per instance, and how many more may wait: the instances' admission, and nginx's bound (parts/nginx.ts). */
  workConcurrency: fromEnv('WORK_CONCURRENCY', WorkConcurrencySetting),
  workQueue: fromEnv('WORK_QUEUE', WorkQueueSetting),
  /** Redis's appendfsync: everysec (default) or always. */
  appendfsync: fromEnv('REDIS_APPENDFSYNC', Type.Enum([...APPENDFSYNC_POLICIES], { default: 'everysec' })),
  /** nginx access log on (buffered), or off with BENCH=1. */
  accessLog: fromEnv('BENCH', Switch(), (bench) => bench !== '1'),
  /** Redis's bound ("512mb"), with noeviction: past it writes get the service's 503, nothing is evicted. */
  redisMaxmemory: fromEnv('REDIS_MAXMEMORY', Type.String({ default: '512mb', pattern: '^[1-9][0-9]*(kb|mb|gb)$' })),
  /** single: one Redis on REDIS_PORT. sentinel: a primary there, replicas and Sentinels beside it (docs/store-ha.md). */
  redisMode: fromEnv('REDIS_MODE', RedisModeSetting),
  /** Sentinel mode: the replicas' ports (as many replicas as ports). */
  replicaPorts: fromEnv('REDIS_REPLICA_PORTS', PortList('6380,6381'), ports),
  /** Sentinel mode: the Sentinels' ports (as many Sentinels as ports). */
  sentinelPorts: fromEnv('REDIS_SENTINEL_PORTS', PortList('26379,26380,26381'), ports),
  /** Sentinel mode: the instances acknowledge a mutation only once a replica has it. */
  durable: fromEnv('REDIS_DURABLE', RedisDurableSetting, (durable) => durable === '1'),
  /** Sentinel mode: a primary refuses writes with fewer replicas connected than this. */
  minReplicasToWrite: fromEnv('REDIS_MIN_REPLICAS_TO_WRITE', Integer(TOPOLOGY_DEFAULTS.minReplicasToWrite, 0, 4)),
  /** Sentinel mode: how long the primary may be silent before a Sentinel calls it down. */
  downAfterMs: fromEnv('REDIS_DOWN_AFTER_MS', Integer(TOPOLOGY_DEFAULTS.downAfterMs, 100, 60_000)),
  /** Sentinel mode: bounds a failover's steps; a failed one is tried again after twice this. */
  failoverTimeoutMs: fromEnv('REDIS_FAILOVER_TIMEOUT_MS', Integer(TOPOLOGY_DEFAULTS.failoverTimeoutMs, 1000, 600_000)),
  /** Sentinel mode: the Sentinels that must agree the primary is down (2: a majority of three). */
  quorum: fromEnv('REDIS_QUORUM', Integer(2, 1, 5)),
  /** nginx's stub_status, on a listener of its own on 127.0.0.1 (for the nginx exporter). */
  nginxStatusPort: fromEnv('NGINX_STATUS_PORT', Port(8081)),
  /** Prometheus and the two exporters run with the stack (docs/observability.md); 0 leaves them out. */
  observe: fromEnv('OBSERVE', Switch('1'), (observe) => observe === '1'),
  promPort: fromEnv('PROM_PORT', Port(9090)),
  nginxExporterPort: fromEnv('NGINX_EXPORTER_PORT', Port(9113)),
  redisExporterPort: fromEnv('REDIS_EXPORTER_PORT', Port(9121)),
  /** nginx: requests per second per client address (0: no limit). */
  clientRate: fromEnv('EDGE_CLIENT_RATE', Integer(EDGE_DEFAULTS.clientRate, 0, 10_000_000)),
  /** nginx: requests a client may send at once beyond its rate. */
  clientBurst: fromEnv('EDGE_CLIENT_BURST', Integer(EDGE_DEFAULTS.clientBurst, 0, 10_000_000)),
  /** nginx: connections with a request in progress per client address (0: no limit). */
  clientConnections: fromEnv('EDGE_CLIENT_CONNECTIONS', Integer(EDGE_DEFAULTS.clientConnections, 0, 1_000_000)),
  /** nginx: GET /work requests in flight per client address (0: no bound but the fleet's). */
  clientWork: fromEnv('EDGE_CLIENT_WORK', Integer(EDGE_DEFAULTS.clientWork, 0, 1_000_000)),
  /** nginx: the Host names it answers for; any other gets 421. */
  knownHosts: fromEnv('EDGE_HOSTS', HostList(EDGE_DEFAULTS.knownHosts), (list) => list.split(',')),
  /** nginx: the x-upstream header on answers (the local lab's view; off in the container). */
  upstreamHeader: fromEnv('EDGE_UPSTREAM_HEADER', Switch('1'), (on) => on === '1')
}

type FromEnv = { [K in keyof typeof ENV_SETTINGS]: ReturnType<(typeof ENV_SETTINGS)[K]['read']> }

/**
 * The lab's switches: what a lesson turns off (or on) to show the "before"
 * picture, put back by the lesson afterwards. Never read from the environment.
 */
export interface LabSwitches {
  /** nginx retries POSTs on another instance (the stack's point; false shows the "before"). */
  retryNonIdempotent: boolean
  /** nginx's upstream keepalive pool per worker; 0 turns keepalive off. */
  keepalive: number
  /**
   * nginx gives up on a silent instance after a short per-route read timeout and takes
   * it out of rotation on that first timeout (max_fails=1); false: the old 10 s and
   * max_fails=0, where every request sent to a frozen instance waits for it.
   */
  passiveHealth: boolean
  /** nginx also retries an instance's 502/503 answers, up to 4 tries: the old policy, under which retries multiply shed work. */
  retryShed: boolean
  /** The liveness watchdog runs: it SIGKILLs an instance that stopped answering /health/live, for PM2 to restart. */
  watchdog: boolean
  /** The instances refuse GET /work past their admission bound (WORK_SHED=1); false admits everything: the overload's "before". */
  workShed: boolean
  /** The instances' rate limit for a lesson (RATE_LIMIT_MAX, _WINDOW_MS, _STORE); null: the environment's, else the service's defaults. */
  rateLimit: ServiceRateLimit | null
}

/** A per-client limit on the instances: `max` requests per `windowMs`, counted in Redis (shared) or by each instance alone. */
export interface ServiceRateLimit {
  max: number
  windowMs: number
  store: 'shared' | 'instance'
}

/** The switches as the stack runs normally. */
export const LAB_SWITCHES: Readonly<LabSwitches> = { retryNonIdempotent: true, keepalive: 256, passiveHealth: true, retryShed: false, watchdog: true, workShed: true, rateLimit: null }

/** How the local stack is laid out and configured: the environment's settings, and the lab's switches. */
export interface StackSettings extends FromEnv, LabSwitches {}

/** The variables and their schemas, as env-schema reads them. */
export const StackEnvSchema = Type.Object(Object.fromEntries(Object.values(ENV_SETTINGS).map((s) => [s.variable, s.schema])))

/** The stack's ports besides the API range: each kept over a running stack, checked for clashes, freed by `down`. */
export const SINGLE_PORTS = ['lbPort', 'redisPort', 'nginxStatusPort'] as const

/** Prometheus's and the exporters' ports: the stack's while OBSERVE=1. */
export const OBSERVE_PORTS = ['promPort', 'nginxExporterPort', 'redisExporterPort'] as const

/** The replicated store's ports (sentinel mode): kept, checked and freed like the others while it runs. */
export const LIST_PORTS = ['replicaPorts', 'sentinelPorts'] as const

const PORTS = [...SINGLE_PORTS, ...OBSERVE_PORTS, 'apiBasePort'] as const

/** The settings that decide what runs where: they cannot change while the stack is up. */
export const PORT_SETTINGS = ['dir', ...PORTS] as const

/**
 * The settings of a running stack that `next` would move (a port, the state
 * folder): `up` refuses those. The replicated store's ports count only while it
 * runs and is to run on.
 */
export function movedSettings (running: StackSettings, next: StackSettings): string[] {
  const moved: string[] = PORT_SETTINGS.filter((key) => running[key] !== next[key]).map((key) => `${key}=${running[key]}`)
  if (running.redisMode === 'sentinel' && next.redisMode === 'sentinel') {
    for (const key of LIST_PORTS) if (running[key].join(',') !== next[key].join(',')) moved.push(`${key}=${running[key].join(',')}`)
  }
  return moved
}

export class SettingsError extends Error {
  override name = 'SettingsError'
}

/** The state folder alone (STACK_DIR): all that `down` and `status` need, whatever else the environment holds. */
export function stackDir (env: NodeJS.ProcessEnv = process.env): string {
  return ENV_SETTINGS.dir.read(env.STACK_DIR || DEFAULT_STACK_DIR)
}

/**
 * Settings for a stack that may already run: the ports the environment does not
 * set stay those it runs on (so `LB_PORT=8080 npm start`, then `STORE=memory npm
 * start`, just works), and drill-only switches go back to their defaults.
 */
export function settingsOverRunning (running: StackSettings | null, overrides: Partial<StackSettings> = {}, env: NodeJS.ProcessEnv = process.env): StackSettings {
  const kept: Partial<StackSettings> = {}
  if (running) {
    for (const key of [...PORTS, ...LIST_PORTS]) {
      if (!env[ENV_SETTINGS[key].variable]) (kept as Record<string, unknown>)[key] = running[key]
    }
  }
  return stackSettings({ ...kept, ...overrides }, env)
}

/** Settings from the environment (LB_PORT, REDIS_PORT, ...), then explicit overrides. A bad value is a SettingsError naming it. */
export function stackSettings (overrides: Partial<StackSettings> = {}, env: NodeJS.ProcessEnv = process.env): StackSettings {
  const values = readEnv(env)
  const fromEnv = Object.fromEntries(Object.entries(ENV_SETTINGS).map(([key, setting]) =>
    [key, (setting.read as (value: unknown) => unknown)(values[setting.variable])])) as FromEnv
  const settings: StackSettings = { ...fromEnv, ...LAB_SWITCHES, ...overrides }
  const problems = [
    ...LIST_PORTS.flatMap((key) => settings[key].filter((port) => port < 1 || port > 65535).map((port) => `${ENV_SETTINGS[key].variable}: ${port} is not a port from 1 to 65535`)),
    ...(settings.replicaPorts.length > 4 ? ['REDIS_REPLICA_PORTS: at most 4 replicas'] : []),
    ...(settings.sentinelPorts.length > 5 ? ['REDIS_SENTINEL_PORTS: at most 5 Sentinels'] : []),
    ...(settings.quorum > settings.sentinelPorts.length ? [`REDIS_QUORUM: ${settings.quorum} is more than the ${settings.sentinelPorts.length} Sentinel(s)`] : []),
    ...(settings.minReplicasToWrite > settings.replicaPorts.length ? [`REDIS_MIN_REPLICAS_TO_WRITE: ${settings.minReplicasToWrite} is more than the ${settings.replicaPorts.length} replica(s)`] : [])
  ]
  if (problems.length > 0) throw new SettingsError(problems.join('; '))
  const ports = stackPorts(settings)
  const clash = ports.find((port, i) => ports.indexOf(port) !== i)
  if (clash !== undefined) throw new SettingsError(`port ${clash} is given to two parts of the stack`)
  return settings
}

/** Validates the environment against StackEnvSchema; empty variables count as unset. */
function readEnv (env: NodeJS.ProcessEnv): Record<string, unknown> {
  const data = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''))
  try {
    return envSchema({ schema: structuredClone(StackEnvSchema), data, env: false })
  } catch (err) {
    const errors = (err as { errors?: Array<{ instancePath: string, message?: string }> }).errors ?? []
    throw new SettingsError(errors.map((e) => problem(e.instancePath.slice(1), data, e.message)).join('; ') || (err as Error).message)
  }
}

/** "INSTANCES must be an integer from 1 to 16 (got "0")", from the variable's own schema. */
function problem (variable: string, data: Record<string, unknown>, message = 'is not valid'): string {
  const schema = StackEnvSchema.properties[variable] as { type?: string, minimum?: number, maximum?: number, enum?: string[], pattern?: string } | undefined
  const got = `(got "${String(data[variable])}")`
  if (schema?.type === 'integer') return `${variable} must be an integer from ${schema.minimum} to ${schema.maximum} ${got}`
  if (schema?.pattern !== undefined) {
    if (variable === 'EDGE_HOSTS') return `${variable} must be host names separated by commas, such as localhost,127.0.0.1 ${got}`
    if (variable === 'REDIS_MAXMEMORY') return `${variable} must be a size in kb, mb or gb, such as 512mb ${got}`
    return `${variable} must be ports separated by commas, such as 6380,6381 ${got}`
  }
  if (schema?.enum !== undefined) return `${variable} must be one of ${schema.enum.join(', ')} ${got}`
  return `${variable} ${message} ${got}`
}

/** Every port the stack listens on: what must not clash, and what `down` checks is free again. */
export function stackPorts (settings: StackSettings): number[] {
  const replicated = settings.redisMode === 'sentinel' ? [...settings.replicaPorts, ...settings.sentinelPorts] : []
  const observed = settings.observe ? OBSERVE_PORTS.map((key) => settings[key]) : []
  return [...SINGLE_PORTS.map((key) => settings[key]), ...apiPortsOf(settings), ...replicated, ...observed]
}

export function apiPortsOf (settings: Pick<StackSettings, 'apiBasePort' | 'instances'>): number[] {
  return Array.from({ length: settings.instances }, (_, i) => settings.apiBasePort + i)
}

export function appNames (settings: Pick<StackSettings, 'instances'>): string[] {
  return Array.from({ length: settings.instances }, (_, i) => `api-${i + 1}`)
}
