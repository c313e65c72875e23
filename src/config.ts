import { isIP } from 'node:net'
import { hostname } from 'node:os'
import envSchema from 'env-schema'
import { Type, type Static } from 'typebox'
import { LogLevelSetting, StoreSetting, TrustProxySetting } from './shared/contract.js'

/**
 * The one schema for the service's environment. Every setting has a default, so
 * `node dist/server.js` runs as is; a bad value stops the boot with a message
 * naming the variable (see loadConfig).
 */
export const ConfigSchema = Type.Object({
  HOST: Type.String({ default: '0.0.0.0', minLength: 1 }),
  PORT: Type.Integer({ default: 3000, minimum: 0, maximum: 65535 }),
  // Empty means "<hostname>:<port>", filled in by loadConfig.
  INSTANCE_ID: Type.String({ default: '', maxLength: 128, pattern: '^[A-Za-z0-9:_.-]*$' }),
  STORE: StoreSetting,
  REDIS_URL: Type.String({ default: 'redis://127.0.0.1:6379', pattern: '^rediss?://' }),
  LOG_LEVEL: LogLevelSetting('info'),
  // Addresses (or CIDRs), comma-separated, whose X-Forwarded-* headers are believed:
  // the balancer's, never "everyone". Empty trusts no proxy.
  TRUST_PROXY: TrustProxySetting,
  // How long a graceful shutdown may take before the process exits anyway. Must stay
  // below PM2's kill_timeout (5 s in ecosystem.config.js) and Docker's stop grace.
  SHUTDOWN_GRACE_MS: Type.Integer({ default: 4000, minimum: 100, maximum: 60000 })
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
