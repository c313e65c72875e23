import { busyPorts } from '../../system/ports.js'
import { waitFor } from '../../system/process.js'
import { DEFAULT_REDIS_MASTER_NAME, DEFAULT_TRUST_PROXY } from '../../../shared/contract.js'
import { killPm2, pm2, pm2Apps, pm2Start, type Pm2App } from '../pm2.js'
import { isReady } from '../probe.js'
import { apiPortsOf, appNames, type StackSettings } from '../settings.js'
import { sayPart, StackError, type PartContext, type StackPart } from './part.js'
import { sentinelsSetting } from './redis-ha.js'
import { credentialsFile } from './redis.js'
import { SERVICE_REDIS_USER, serviceRedisUrl, storedCredentials } from '../../system/redis-acl.js'

/** What ecosystem.config.js reads: the apps' settings for this stack. */
function appEnv (settings: StackSettings, logDir: string): Record<string, string> {
  const credentials = storedCredentials(credentialsFile(settings))
  const sentinel = settings.redisMode === 'sentinel'
  return {
    INSTANCES: String(settings.instances),
    API_BASE_PORT: String(settings.apiBasePort),
    HOST: '127.0.0.1',
    STORE: settings.store,
    // As the ACL user limited to the service's commands, in either mode (in sentinel
    // mode only its user and password count: the Sentinels say where the primary is).
    REDIS_URL: serviceRedisUrl(settings.redisPort, credentials),
    // Set either way, so that a variable of the shell running `npm start` cannot leak into the apps.
    REDIS_MODE: settings.redisMode,
    REDIS_SENTINELS: sentinel ? sentinelsSetting(settings) : '',
    // The same user on the Sentinels, limited there to asking where the primary is.
    REDIS_SENTINEL_USERNAME: sentinel && credentials !== undefined ? SERVICE_REDIS_USER : '',
    REDIS_SENTINEL_PASSWORD: sentinel && credentials !== undefined ? credentials.service : '',
    REDIS_MASTER_NAME: DEFAULT_REDIS_MASTER_NAME,
    REDIS_DURABLE: settings.durable ? '1' : '0',
    LOG_LEVEL: settings.logLevel,
    // nginx reaches the instances from 127.0.0.1: the service's own default.
    TRUST_PROXY: DEFAULT_TRUST_PROXY,
    // GET / with pid, port and uptime: the kill drill reads each worker's pid there.
    SHOW_INTERNALS: '1',
    // Load shedding on GET /work (off only for the overload drill's "before" picture).
    WORK_SHED: settings.workShed ? '1' : '0',
    // What nginx's bound per instance is derived from (parts/nginx.ts): the same numbers on both.
    WORK_CONCURRENCY: String(settings.workConcurrency),
    WORK_QUEUE: String(settings.workQueue),
    SCALE_LAB_LOG_DIR: logDir,
    // A lesson's limit (drill rate-limit); otherwise the environment's RATE_LIMIT_* pass through.
    ...(settings.rateLimit
      ? { RATE_LIMIT_MAX: String(settings.rateLimit.max), RATE_LIMIT_WINDOW_MS: String(settings.rateLimit.windowMs), RATE_LIMIT_STORE: settings.rateLimit.store }
      : {})
  }
}

/** The settings the apps run with: a change replaces them. */
const APP_SETTINGS = ['instances', 'store', 'logLevel', 'redisMode', 'durable', 'workShed', 'workConcurrency', 'workQueue', 'rateLimit'] as const

/** Whether a setting is unchanged (compared by value: some are objects; a state file written before a setting existed lacks it). */
const sameSetting = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null)

/** The API instances under PM2 (its own PM2_HOME): PM2 starts, restarts and reports them; the stack asks PM2. */
export const apiPart: StackPart & { status (ctx: PartContext): Promise<Array<Pm2App & { ready: boolean }>> } = {
  name: 'api',
  async up (ctx) {
    const { settings, previous, paths } = ctx
    const apps = await pm2Apps(paths.pm2Home)
    const wanted = appNames(settings)
    const running = apps.filter((a) => a.status === 'online').map((a) => a.name).sort()
    const same = previous !== null && APP_SETTINGS.every((key) => sameSetting(previous[key], settings[key])) &&
      JSON.stringify(running) === JSON.stringify([...wanted].sort())
    if (same) {
      sayPart(ctx, 'api', `already up (${wanted.join(', ')})`)
    } else {
      if (apps.length > 0) {
        sayPart(ctx, 'api', 'settings changed: replacing the apps')
        await pm2(paths.pm2Home, ['delete', 'all'])
      }
      const taken = await busyPorts(apiPortsOf(settings))
      if (taken.length > 0) {
        throw new StackError(`API port(s) ${taken.join(', ')} are taken by something this stack did not start; choose API_BASE_PORT=...`)
      }
      if (apps.length === 0) ctx.undo(() => killPm2(paths.pm2Home))
      await pm2Start(paths.pm2Home, appEnv(settings, paths.logs))
      const store = settings.store === 'redis' && settings.redisMode === 'sentinel' ? `, REDIS_MODE=sentinel, REDIS_DURABLE=${settings.durable ? 1 : 0}` : ''
      sayPart(ctx, 'api', `started ${wanted.join(', ')} on ports ${apiPortsOf(settings).join(', ')} (STORE=${settings.store}${store}, LOG_LEVEL=${settings.logLevel})`)
    }
    await waitFor('every instance to be ready', async () => {
      const ready = await Promise.all(apiPortsOf(settings).map(isReady))
      return ready.every(Boolean)
    }, 30_000, 100)
  },
  async down (ctx) {
    // PM2's daemon and apps, by PID: whatever is left of them (a crashed `up` included).
    await killPm2(ctx.paths.pm2Home)
    sayPart(ctx, 'api', 'stopped')
    return true
  },
  async status ({ paths }) {
    const apps = await pm2Apps(paths.pm2Home).catch(() => [] as Pm2App[])
    return Promise.all(apps.map(async (app) => ({ ...app, ready: app.port !== null && await isReady(app.port) })))
  }
}
