import { isIP } from 'node:net'
import { hostname } from 'node:os'
import proxyAddr from '@fastify/proxy-addr'
import envSchema from 'env-schema'
import { Type, type Static } from 'typebox'
import { DEFAULT_REDIS_MASTER_NAME, LogLevelSetting, RedisDurableSetting, RedisModeSetting, StoreSetting, TrustProxySetting, WorkConcurrencySetting, WorkQueueSetting } from './shared/contract.js'

/** A switch: 0 (off) or 1 (on). */
const Switch = (on: 0 | 1) => Type.Integer({ default: on, minimum: 0, maximum: 1 })

/**
 * The one schema for the service's environment. Every setting has a default, so
 * `node dist/server.js` runs as is; a bad value stops the boot with a message
 * naming the variable (see loadConfig).
 */
export const ConfigSchema = Type.Object({
  // This machine only, unless told otherwise: the balancer reaches the instances on
  // loopback. Containers set 0.0.0.0 (Dockerfile, docker-compose.yml).
  HOST: Type.String({ default: '127.0.0.1', minLength: 1 }),
  PORT: Type.Integer({ default: 3000, minimum: 0, maximum: 65535 }),
  // A unix socket path to serve on as well as PORT (the bench's unix-socket variant:
  // nginx → instances without TCP); empty: the port only.
  SOCKET_PATH: Type.String({ default: '' }),
  // Empty means "<hostname>:<port>", filled in by loadConfig.
  INSTANCE_ID: Type.String({ default: '', maxLength: 128, pattern: '^[A-Za-z0-9:_.-]*$' }),
  STORE: StoreSetting,
  // Where Redis is, with its credentials; in sentinel mode only the credentials, db and
  // TLS count: the Sentinels say where the primary is.
  REDIS_URL: Type.String({ default: 'redis://127.0.0.1:6379', pattern: '^rediss?://' }),
  // single: one Redis at REDIS_URL. sentinel: a primary and replicas, found through REDIS_SENTINELS.
  REDIS_MODE: RedisModeSetting,
  // host:port of each Sentinel, comma-separated (sentinel mode).
  REDIS_SENTINELS: Type.String({ default: '' }),
  REDIS_MASTER_NAME: Type.String({ default: DEFAULT_REDIS_MASTER_NAME, pattern: '^[A-Za-z0-9._-]{1,64}$' }),
  // The Sentinels' own credentials (their requirepass / ACL user), when they have any.
  REDIS_SENTINEL_USERNAME: Type.String({ default: '' }),
  REDIS_SENTINEL_PASSWORD: Type.String({ default: '' }),
  // 1: a mutation is acknowledged only once a replica has it (WAIT 1 after the script);
  // a write no replica confirms within REDIS_DURABLE_TIMEOUT_MS is a 503, outcome unknown.
  REDIS_DURABLE: RedisDurableSetting,
  // Below the 400 ms command timeout, which bounds the WAIT too.
  REDIS_DURABLE_TIMEOUT_MS: Type.Integer({ default: 100, minimum: 1, maximum: 300 }),
  LOG_LEVEL: LogLevelSetting('info'),
  // Addresses (or CIDRs), comma-separated, whose X-Forwarded-* headers are believed:
  // the balancer's, never "everyone". Empty trusts no proxy.
  TRUST_PROXY: TrustProxySetting,
  // How long a graceful shutdown may take before the process exits anyway. Must stay
  // below PM2's kill_timeout (5 s in ecosystem.config.js) and Docker's stop grace.
  SHUTDOWN_GRACE_MS: Type.Integer({ default: 4000, minimum: 100, maximum: 60000 }),
  // GET / adds pid, port and uptime: details for the lab (its kill drill reads the
  // pid), not for strangers. docs/hardening.md explains every setting below.
  SHOW_INTERNALS: Switch(0),
  // Requests per client address and window, counted in the store (Redis: one budget
  // for the cluster) or per instance. The default is far above anything the lab sends
  // (this machine serves ~100k req/s at most); 0 turns the limit off.
  RATE_LIMIT_MAX: Type.Integer({ default: 200_000, minimum: 0 }),
  RATE_LIMIT_WINDOW_MS: Type.Integer({ default: 1000, minimum: 100, maximum: 3_600_000 }),
  RATE_LIMIT_STORE: Type.Enum(['shared', 'instance'], { default: 'shared' }),
  // GET /work: at most this many run at once per instance, this many more wait, each
  // at most WORK_QUEUE_MS; the rest get 503 SL_OVERLOADED at once. WORK_SHED=0
  // admits everything (the "before" picture of an overload).
  // nginx sends an instance at most WORK_CONCURRENCY at once (plus one from its panic
  // backup, which the queue holds), and sheds the rest itself (the local stack and the container).
  WORK_CONCURRENCY: WorkConcurrencySetting,
  WORK_QUEUE: WorkQueueSetting,
  WORK_QUEUE_MS: Type.Integer({ default: 250, minimum: 1, maximum: 60_000 }),
  WORK_SHED: Switch(1),
  // 1: GET /metrics and the hooks that feed it. 0: neither (the bench measures their cost).
  METRICS: Switch(1),
  // A draining instance scraped within this long waits up to this long for one more
  // scrape once nothing is in flight: its counters die with it, and what it served
  // since the last scrape would be missing from every rate. 0: no wait. Well below
  // SHUTDOWN_GRACE_MS, which bounds the whole drain.
  METRICS_FINAL_SCRAPE_MS: Type.Integer({ default: 1500, minimum: 0, maximum: 10_000 })
})

export type Config = Static<typeof ConfigSchema>

export class ConfigError extends Error {
  override name = 'ConfigError'
}

/**
 * Reads and validates the configuration. `source` defaults to the process
 * environment plus a `.env` file in the working directory (the environment wins).
 */
export function loadConfig (source?: Record<string, string | undefined>): Config {
  let config: Config
  try {
    config = envSchema<Config>({
      schema: structuredClone(ConfigSchema),
      data: source ?? {},
      env: source === undefined,
      dotenv: source === undefined
    })
  } catch (err) {
    throw new ConfigError(`Invalid configuration: ${(err as Error).message}`)
  }
  if (config.INSTANCE_ID === '') config.INSTANCE_ID = `${hostname()}:${config.PORT}`
  const untrusty = trustList(config.TRUST_PROXY).find((entry) => !isProxyAddress(entry))
  if (untrusty !== undefined) {
    throw new ConfigError(`Invalid configuration: env/TRUST_PROXY: "${untrusty}" is not an IP address or a CIDR range (and "everyone" is never trusted)`)
  }
  if (config.REDIS_MODE === 'sentinel') {
    if (config.REDIS_SENTINELS.trim() === '') {
      throw new ConfigError('Invalid configuration: env/REDIS_SENTINELS: sentinel mode needs the Sentinels, as host:port[,host:port...]')
    }
    const bad = config.REDIS_SENTINELS.split(',').map((s) => s.trim()).find((entry) => hostPort(entry) === null)
    if (bad !== undefined) throw new ConfigError(`Invalid configuration: env/REDIS_SENTINELS: "${bad}" is not host:port`)
  }
  return config
}

/** REDIS_SENTINELS as ioredis' `sentinels` option (empty outside sentinel mode). */
export function sentinelList (config: Pick<Config, 'REDIS_MODE' | 'REDIS_SENTINELS'>): Array<{ host: string, port: number }> {
  if (config.REDIS_MODE !== 'sentinel') return []
  return config.REDIS_SENTINELS.split(',').map((s) => hostPort(s.trim())!)
}

/** "host:port" (or "[v6]:port") with a port from 1 to 65535, or null. */
function hostPort (entry: string): { host: string, port: number } | null {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(entry)
  const port = Number(match?.[3])
  if (!match || port < 1 || port > 65535) return null
  return { host: match[1] ?? match[2]!, port }
}

function trustList (value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter(Boolean)
}

/** An address or a CIDR range, but not one that matches every address. */
function isProxyAddress (entry: string): boolean {
  const [address = '', prefix, ...rest] = entry.split('/')
  const family = isIP(address)
  if (family === 0 || rest.length > 0) return false
  if (prefix === undefined) return true
  const bits = Number(prefix)
  return /^\d+$/.test(prefix) && bits >= 1 && bits <= (family === 4 ? 32 : 128)
}

/** TRUST_PROXY as Fastify's `trustProxy` option: a list of addresses, or false. */
export function trustedProxies (config: Pick<Config, 'TRUST_PROXY'>): string[] | false {
  const list = trustList(config.TRUST_PROXY)
  return list.length > 0 ? list : false
}

/**
 * TRUST_PROXY as a test of an address (the function Fastify's `trustProxy` takes):
 * the same answer for `request.ip` and for "did the balancer send this request?".
 */
export function proxyTrust (config: Pick<Config, 'TRUST_PROXY'>): (address: string, hop: number) => boolean {
  const list = trustedProxies(config)
  return list === false ? () => false : proxyAddr.compile(list)
}
