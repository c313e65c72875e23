import { isIP } from 'node:net'
import { hostname } from 'node:os'
import proxyAddr from '@fastify/proxy-addr'
import envSchema from 'env-schema'
import { Type, type Static } from 'typebox'
import { LogLevelSetting, TrustProxySetting } from './shared/contract.js'

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
  // Empty means "<hostname>:<port>", filled in by loadConfig.
  INSTANCE_ID: Type.String({ default: '', maxLength: 128, pattern: '^[A-Za-z0-9:_.-]*$' }),
  STORE: Type.Enum(['redis', 'memory'], { default: 'redis' }),
  REDIS_URL: Type.String({ default: 'redis://127.0.0.1:6379', pattern: '^rediss?://' }),
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
  WORK_CONCURRENCY: Type.Integer({ default: 4, minimum: 1, maximum: 1024 }),
  WORK_QUEUE: Type.Integer({ default: 16, minimum: 0, maximum: 100_000 }),
  WORK_QUEUE_MS: Type.Integer({ default: 250, minimum: 1, maximum: 60_000 }),
  WORK_SHED: Switch(1)
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
  return config
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
