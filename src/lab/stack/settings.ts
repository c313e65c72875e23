import { resolve } from 'node:path'
import { DEFAULT_STACK_DIR } from '../paths.js'

/** How the local stack is laid out and configured. */
export interface StackSettings {
  /** State folder: Redis data, PM2_HOME, nginx prefix, logs. */
  dir: string
  lbPort: number
  redisPort: number
  /** api-1 listens here, api-2 on the next port, and so on. */
  apiBasePort: number
  instances: number
  store: 'redis' | 'memory'
  /** The instances' LOG_LEVEL. */
  logLevel: string
  /** Redis's appendfsync: everysec (default) or always. */
  appendfsync: 'everysec' | 'always'
  /** nginx access log on (buffered) or off (BENCH=1). */
  accessLog: boolean
  /** nginx retries POSTs on another instance (the stack's point; false shows the "before"). */
  retryNonIdempotent: boolean
  /** nginx's upstream keepalive pool per worker; 0 turns keepalive off. */
  keepalive: number
}

/** The settings that decide what runs where: they cannot change while the stack is up. */
export const PORT_SETTINGS = ['dir', 'lbPort', 'redisPort', 'apiBasePort'] as const

export class SettingsError extends Error {
  override name = 'SettingsError'
}

function integer (env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new SettingsError(`${name} must be an integer from ${min} to ${max} (got "${raw}")`)
  }
  return value
}

function oneOf<T extends string> (env: NodeJS.ProcessEnv, name: string, fallback: T, allowed: readonly T[]): T {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new SettingsError(`${name} must be one of ${allowed.join(', ')} (got "${raw}")`)
  }
  return raw as T
}

/** The state folder alone (STACK_DIR): all that `down` and `status` need. */
export function stackDir (env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.STACK_DIR || DEFAULT_STACK_DIR)
}

/** Which variable sets each port. */
const PORT_VARIABLES = { lbPort: 'LB_PORT', redisPort: 'REDIS_PORT', apiBasePort: 'API_BASE_PORT' } as const

/**
 * Settings for a stack that may already run: the ports the environment does not
 * set stay those it runs on (so `LB_PORT=8080 npm start`, then `STORE=memory npm
 * start`, just works), and drill-only switches go back to their defaults.
 */
export function settingsOverRunning (running: StackSettings | null, overrides: Partial<StackSettings> = {}, env: NodeJS.ProcessEnv = process.env): StackSettings {
  const kept: Partial<StackSettings> = {}
  if (running) {
    for (const [key, variable] of Object.entries(PORT_VARIABLES) as Array<[keyof typeof PORT_VARIABLES, string]>) {
      if (!env[variable]) kept[key] = running[key]
    }
  }
  return stackSettings({ ...kept, ...overrides }, env)
}

/** Settings from the environment (LB_PORT, REDIS_PORT, ...), then explicit overrides. */
export function stackSettings (overrides: Partial<StackSettings> = {}, env: NodeJS.ProcessEnv = process.env): StackSettings {
  const settings: StackSettings = {
    dir: stackDir(env),
    lbPort: integer(env, 'LB_PORT', 80, 1, 65535),
    redisPort: integer(env, 'REDIS_PORT', 6379, 1, 65535),
    apiBasePort: integer(env, 'API_BASE_PORT', 3001, 1, 65000),
    instances: integer(env, 'INSTANCES', 4, 1, 16),
    store: oneOf(env, 'STORE', 'redis', ['redis', 'memory'] as const),
    logLevel: oneOf(env, 'LOG_LEVEL', 'warn', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const),
    appendfsync: oneOf(env, 'REDIS_APPENDFSYNC', 'everysec', ['everysec', 'always'] as const),
    accessLog: env.BENCH !== '1',
    retryNonIdempotent: true,
    keepalive: 256,
    ...overrides
  }
  const apiPorts = apiPortsOf(settings)
  const clash = [settings.lbPort, settings.redisPort].find((p) => apiPorts.includes(p)) ??
    (settings.lbPort === settings.redisPort ? settings.lbPort : undefined)
  if (clash !== undefined) throw new SettingsError(`port ${clash} is given to two parts of the stack`)
  return settings
}

export function apiPortsOf (settings: Pick<StackSettings, 'apiBasePort' | 'instances'>): number[] {
  return Array.from({ length: settings.instances }, (_, i) => settings.apiBasePort + i)
}

export function appNames (settings: Pick<StackSettings, 'instances'>): string[] {
  return Array.from({ length: settings.instances }, (_, i) => `api-${i + 1}`)
}
