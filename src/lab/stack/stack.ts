import { existsSync, mkdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { requireBinary } from '../system/binaries.js'
import { onInterrupt } from '../system/interrupt.js'
import { bindError, busyPorts, isListening } from '../system/ports.js'
import { isAlive, stopPid, waitFor } from '../system/process.js'
import { pingRedis, startRedisServer } from '../system/redis-server.js'
import { SERVER_SCRIPT } from '../paths.js'
import { startNginx, stopNginx, reloadNginx, writeNginxConfig, nginxAnswers, type BalancerOptions } from './nginx.js'
import { pm2, pm2Apps, pm2DaemonPid, pm2Start, type Pm2App } from './pm2.js'
import { instancesThrough, isReady } from './probe.js'
import { PORT_SETTINGS, apiPortsOf, appNames, type StackSettings } from './settings.js'
import { clearState, readState, stackPaths, writeState, type StackState } from './state.js'

export class StackError extends Error {
  override name = 'StackError'
}

/** Progress lines for a person watching; tests pass a no-op. */
export type Say = (line: string) => void

/** The balancer of a local stack: nginx on 127.0.0.1:LB_PORT over the instances' ports. */
export function balancerOptions (settings: StackSettings): BalancerOptions {
  return {
    listen: `127.0.0.1:${settings.lbPort}`,
    upstreams: apiPortsOf(settings).map((port) => `127.0.0.1:${port}`),
    keepalive: settings.keepalive,
    retryNonIdempotent: settings.retryNonIdempotent,
    accessLogFile: settings.accessLog ? join(stackPaths(settings.dir).nginx, 'logs', 'access.log') : null
  }
}

/** What ecosystem.config.js reads: the apps' settings for this stack. */
function appEnv (settings: StackSettings): Record<string, string> {
  return {
    INSTANCES: String(settings.instances),
    API_BASE_PORT: String(settings.apiBasePort),
    HOST: '127.0.0.1',
    STORE: settings.store,
    REDIS_URL: `redis://127.0.0.1:${settings.redisPort}`,
    LOG_LEVEL: settings.logLevel,
    TRUST_PROXY: '127.0.0.1',
    // GET / with pid, port and uptime: the kill drill reads each worker's pid there.
    SHOW_INTERNALS: '1',
    SCALE_LAB_LOG_DIR: stackPaths(settings.dir).logs
  }
}

const APP_SETTINGS = ['instances', 'store', 'logLevel'] as const

function differs (a: StackSettings, b: StackSettings, keys: readonly (keyof StackSettings)[]): boolean {
  return keys.some((key) => a[key] !== b[key])
}

/**
 * Brings the stack up, or makes a running one match `settings`: Redis (AOF on),
 * the PM2 apps, nginx. Idempotent: what already runs as asked is left alone.
 * Returns once a request through nginx has reached every instance. If it fails
 * half-way, whatever this call started is stopped again.
 */
export async function up (settings: StackSettings, say: Say = () => {}): Promise<StackState> {
  requireBinary('redis-server')
  requireBinary('nginx')
  if (!existsSync(SERVER_SCRIPT)) throw new StackError(`${SERVER_SCRIPT} is missing: run npm run build first`)

  const previous = readState(settings.dir)
  if (previous && differs(previous.settings, settings, PORT_SETTINGS)) {
    const was = PORT_SETTINGS.map((k) => `${k}=${previous.settings[k]}`).join(' ')
    throw new StackError(`the stack is already up with other ports (${was}); run npm stop first`)
  }

  const paths = stackPaths(settings.dir)
  for (const dir of Object.values(paths).filter((p) => !p.endsWith('.json'))) mkdirSync(dir, { recursive: true })
  // What already runs keeps its PIDs and upAt; the settings are the ones asked for now.
  const state: StackState = { upAt: new Date().toISOString(), ...(previous ?? {}), settings }
  const undo: Array<() => Promise<void>> = []
  const rollBack = async () => {
    for (const step of undo.reverse()) await step().catch(() => {})
    undo.length = 0
    if (previous) writeState(previous)
    else clearState(settings.dir)
  }
  // Ctrl-C half-way stops what this call started, like a failure does.
  const unregister = onInterrupt(rollBack)

  try {
    // Redis: ours if the recorded PID still runs; never someone else's.
    if (state.redisPid !== undefined && isAlive(state.redisPid) && await pingRedis(settings.redisPort)) {
      say(`redis      already up (pid ${state.redisPid}, port ${settings.redisPort})`)
    } else {
      if (await isListening(settings.redisPort)) {
        throw new StackError(`port ${settings.redisPort} is taken by a Redis (or another server) this stack did not start; ` +
          'refusing to clobber it. Stop it, or choose another port: REDIS_PORT=6380 npm start')
      }
      // Recorded the moment it is spawned: Ctrl-C while it boots, or even a hard crash
      // of this CLI, leaves a PID to stop (rollBack's, or `down`'s).
      const pid = await startStackRedis(settings, (spawned) => {
        state.redisPid = spawned
        undo.push(() => stopPid(spawned))
        writeState(state)
      })
      say(`redis      started (pid ${pid}, port ${settings.redisPort}, AOF appendfsync ${settings.appendfsync})`)
    }

    // The API instances under PM2, restarted only when their settings changed.
    const apps = await pm2Apps(paths.pm2Home)
    const wanted = appNames(settings)
    const running = apps.filter((a) => a.status === 'online').map((a) => a.name).sort()
    const same = previous && !differs(previous.settings, settings, APP_SETTINGS) &&
      JSON.stringify(running) === JSON.stringify([...wanted].sort())
    if (same) {
      say(`api        already up (${wanted.join(', ')})`)
    } else {
      if (apps.length > 0) {
        say('api        settings changed: replacing the apps')
        await pm2(paths.pm2Home, ['delete', 'all'])
      }
      const taken = await busyPorts(apiPortsOf(settings))
      if (taken.length > 0) {
        throw new StackError(`API port(s) ${taken.join(', ')} are taken by something this stack did not start; choose API_BASE_PORT=...`)
      }
      if (apps.length === 0) undo.push(() => killPm2(paths.pm2Home))
      await pm2Start(paths.pm2Home, appEnv(settings))
      say(`api        started ${wanted.join(', ')} on ports ${apiPortsOf(settings).join(', ')} (STORE=${settings.store}, LOG_LEVEL=${settings.logLevel})`)
    }
    await waitFor('every instance to be ready', async () => {
      const ready = await Promise.all(apiPortsOf(settings).map(isReady))
      return ready.every(Boolean)
    }, 30_000, 100)

    // nginx: (re)rendered from the shared template each time; reloaded when it changed.
    const configChanged = await writeNginxConfig(paths.nginx, balancerOptions(settings))
    if (state.nginxPid !== undefined && isAlive(state.nginxPid) && await nginxAnswers(settings.lbPort)) {
      if (configChanged) {
        await reloadNginx(state.nginxPid)
        say(`nginx      reloaded with the new configuration (pid ${state.nginxPid})`)
      } else {
        say(`nginx      already up (pid ${state.nginxPid}, port ${settings.lbPort})`)
      }
    } else {
      const problem = await bindError(settings.lbPort, '127.0.0.1')
      if (problem === 'EACCES') {
        throw new StackError(`cannot listen on port ${settings.lbPort}: permission denied (ports below 1024 need root). ` +
          'Use another port: LB_PORT=8080 npm start')
      }
      if (problem !== null) {
        throw new StackError(`cannot listen on port ${settings.lbPort} (${problem}: a system nginx or another server?). ` +
          'Stop it, or use another port: LB_PORT=8080 npm start')
      }
      const pid = await startNginx(paths.nginx, settings.lbPort, {
        onSpawn: (spawned) => {
          state.nginxPid = spawned
          undo.push(() => stopNginx(spawned))
          writeState(state)
        }
      })
      say(`nginx      started (pid ${pid}, port ${settings.lbPort})`)
    }

    await waitFor(`nginx to reach all ${settings.instances} instances`, async () =>
      (await instancesThrough(settings.lbPort, settings.instances)).length === settings.instances, 15_000, 100)
    writeState(state)
    return state
  } catch (err) {
    await rollBack()
    throw err
  } finally {
    unregister()
  }
}

/**
 * The stack's Redis, on its port, from its data folder with AOF on (a restart
 * replays what was acknowledged) and the stack's fsync policy. `onSpawn` gets the
 * PID before Redis answers, so the caller can record it for any cleanup.
 */
export function startStackRedis (settings: StackSettings, onSpawn: (pid: number) => void): Promise<number> {
  return startRedisServer({ port: settings.redisPort, dir: stackPaths(settings.dir).redis, appendonly: true, appendfsync: settings.appendfsync, onSpawn })
}

/** Stops the PM2 daemon and its apps, then makes sure each of those PIDs is gone. */
async function killPm2 (pm2Home: string): Promise<void> {
  const daemon = pm2DaemonPid(pm2Home)
  if (daemon === null || !isAlive(daemon)) return
  const apps = await pm2Apps(pm2Home).catch(() => [] as Pm2App[])
  await pm2(pm2Home, ['kill']).catch(() => {})
  for (const pid of [...apps.map((a) => a.pid), daemon]) if (pid > 0) await stopPid(pid)
}

export interface DownReport {
  stopped: string[]
  /** Ports still listening afterwards (should be none). */
  portsInUse: number[]
}

/** Stops exactly what `up` started, by PID: the PM2 apps and daemon, nginx, Redis. */
export async function down (dir: string, { purge = false } = {}, say: Say = () => {}): Promise<DownReport> {
  const state = readState(dir)
  const stopped: string[] = []
  const paths = stackPaths(dir)
  if (state === null) {
    // No record, but a PM2 daemon of this folder may be left from a crashed `up`.
    await killPm2(paths.pm2Home)
    if (purge) rmSync(dir, { recursive: true, force: true })
    say('nothing recorded as running')
    return { stopped, portsInUse: [] }
  }
  const { settings } = state

  await killPm2(paths.pm2Home)
  stopped.push('api')
  say('api        stopped')
  if (state.nginxPid !== undefined) {
    await stopNginx(state.nginxPid)
    stopped.push('nginx')
    say(`nginx      stopped (pid ${state.nginxPid})`)
  }
  if (state.redisPid !== undefined) {
    // SIGTERM: Redis writes the AOF to disk and exits; the next `up` replays it.
    await stopPid(state.redisPid, { signal: 'SIGTERM', graceMs: 10_000 })
    stopped.push('redis')
    say(`redis      stopped (pid ${state.redisPid})`)
  }
  clearState(dir)
  const portsInUse = await busyPorts([settings.lbPort, settings.redisPort, ...apiPortsOf(settings)])
  if (purge) rmSync(dir, { recursive: true, force: true })
  return { stopped, portsInUse }
}

export interface StackStatus {
  up: boolean
  settings: StackSettings | null
  redis: { pid: number | null, alive: boolean, answers: boolean } | null
  apps: Array<Pm2App & { ready: boolean }>
  nginx: { pid: number | null, alive: boolean, answers: boolean } | null
  throughNginx: { expected: number, reached: string[] } | null
}

/** Each part of the stack, and whether a request through nginx reaches every instance. */
export async function status (dir: string): Promise<StackStatus> {
  const state = readState(dir)
  if (state === null) return { up: false, settings: null, redis: null, apps: [], nginx: null, throughNginx: null }
  const { settings } = state
  const apps = await pm2Apps(stackPaths(dir).pm2Home).catch(() => [] as Pm2App[])
  return {
    up: true,
    settings,
    redis: {
      pid: state.redisPid ?? null,
      alive: state.redisPid !== undefined && isAlive(state.redisPid),
      answers: await pingRedis(settings.redisPort)
    },
    apps: await Promise.all(apps.map(async (app) => ({ ...app, ready: app.port !== null && await isReady(app.port) }))),
    nginx: {
      pid: state.nginxPid ?? null,
      alive: state.nginxPid !== undefined && isAlive(state.nginxPid),
      answers: await nginxAnswers(settings.lbPort)
    },
    throughNginx: { expected: settings.instances, reached: await instancesThrough(settings.lbPort, settings.instances) }
  }
}
