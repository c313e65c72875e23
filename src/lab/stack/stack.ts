import { existsSync, mkdirSync, rmSync } from 'node:fs'
import { requireBinary } from '../system/binaries.js'
import { onInterrupt } from '../system/interrupt.js'
import { busyPorts } from '../system/ports.js'
import { StartError, type Supervisor } from '../system/supervisor.js'
import { SERVER_SCRIPT } from '../paths.js'
import { killPm2, type Pm2App } from './pm2.js'
import { instancesThrough } from './probe.js'
import { movedSettings, stackPorts, type StackSettings } from './settings.js'
import { clearState, readState, stackPaths, stackSupervisor, writeState, type StackState } from './state.js'
import { apiPart } from './parts/api.js'
import { nginxPart } from './parts/nginx.js'
import { OBSERVE_BINARIES, observePart, observeStatus, type ObserveStatus } from './parts/observe.js'
import { StackError, type DaemonStatus, type PartContext, type Say, type StackPart } from './parts/part.js'
import { redisMemory, redisPart, stackRedisPassword, type RedisMemory } from './parts/redis.js'
import { replicatedPart, type ReplicatedStatus } from './parts/redis-ha.js'
import { storePart } from './parts/store.js'
import { watchdogPart } from './parts/watchdog.js'

export { StackError, type Say }

/**
 * The stack's parts in start order: each may use those before it (the apps
 * Redis, nginx and the watchdog the apps, Prometheus all of them).
 */
const PARTS: readonly StackPart[] = [storePart, apiPart, nginxPart, watchdogPart, observePart]

/**
 * `down`'s order: the watchdog first (it would otherwise watch the instances go),
 * then balancers before servers before stores, as the supervisor orders roles.
 * Prometheus goes after the instances: each one's drain waits for a last scrape
 * (METRICS_FINAL_SCRAPE_MS), which a Prometheus stopped first would never send.
 */
const DOWN_ORDER: readonly StackPart[] = [watchdogPart, nginxPart, apiPart, observePart, storePart]

function partContext (state: StackState, supervisor: Supervisor, say: Say): PartContext {
  return { settings: state.settings, paths: stackPaths(state.settings.dir), supervisor, say }
}

/**
 * Brings the stack up, or makes a running one match `settings`: Redis (AOF on),
 * the PM2 apps, nginx, and (OBSERVE=1) the exporters and Prometheus. Idempotent: what already runs as asked is left alone.
 * Returns once a request through nginx has reached every instance. If it fails
 * half-way, or Ctrl-C stops it, whatever this call started is stopped again.
 */
export async function up (settings: StackSettings, say: Say = () => {}): Promise<StackState> {
  requireBinary('redis-server')
  requireBinary('nginx')
  if (settings.observe) for (const binary of OBSERVE_BINARIES) requireBinary(binary)
  if (!existsSync(SERVER_SCRIPT)) throw new StackError(`${SERVER_SCRIPT} is missing: run npm run build first`)

  const previous = readState(settings.dir)
  const moved = previous ? movedSettings(previous.settings, settings) : []
  if (moved.length > 0) throw new StackError(`the stack is already up with other ports (${moved.join(' ')}); run npm stop first`)

  const paths = stackPaths(settings.dir)
  for (const dir of Object.values(paths).filter((p) => !p.endsWith('.json'))) mkdirSync(dir, { recursive: true })
  // What already runs keeps its PIDs and upAt; the settings are the ones asked for now.
  const state: StackState = { upAt: new Date().toISOString(), daemons: {}, ...structuredClone(previous ?? {}), settings }
  // Every daemon started is in state.json from the moment it is spawned: Ctrl-C while
  // it boots, or even a hard crash of this CLI, leaves a PID to stop (rollBack's, or `down`'s).
  const supervisor = stackSupervisor(state)
  const undo: Array<() => Promise<unknown>> = []
  const rollBack = async () => {
    supervisor.close() // a start still waiting gives up and stops what it spawned
    for (const step of undo.reverse()) await step().catch(() => {})
    undo.length = 0
    if (previous) writeState(previous)
    else clearState(settings.dir)
  }
  // Ctrl-C half-way stops what this call started, like a failure does.
  const unregister = onInterrupt(rollBack)

  try {
    const ctx = { ...partContext(state, supervisor, say), previous: previous?.settings ?? null, undo: (step: () => Promise<unknown>) => { undo.push(step) } }
    for (const part of PARTS) await part.up(ctx)
    writeState(state)
    return state
  } catch (err) {
    await rollBack()
    throw err instanceof StartError ? new StackError(err.message, { cause: err }) : err
  } finally {
    unregister()
  }
}

export interface DownReport {
  stopped: string[]
  /** Ports still listening afterwards (should be none). */
  portsInUse: number[]
}

/** Stops exactly what `up` started, by PID: nginx, the PM2 apps and daemon, Redis. */
export async function down (dir: string, { purge = false } = {}, say: Say = () => {}): Promise<DownReport> {
  const state = readState(dir)
  if (state === null) {
    // No record, but a PM2 daemon of this folder may be left from a crashed `up`.
    await killPm2(stackPaths(dir).pm2Home)
    if (purge) rmSync(dir, { recursive: true, force: true })
    say('nothing recorded as running')
    return { stopped: [], portsInUse: [] }
  }
  const ctx = partContext(state, stackSupervisor(state), say)
  const stopped: string[] = []
  for (const part of DOWN_ORDER) if (await part.down(ctx)) stopped.push(part.name)
  clearState(dir)
  const portsInUse = await busyPorts(stackPorts(state.settings))
  if (purge) rmSync(dir, { recursive: true, force: true })
  return { stopped, portsInUse }
}

export interface StackStatus {
  up: boolean
  settings: StackSettings | null
  /** Single mode: the one Redis. Sentinel mode: the primary (null when none is agreed on). */
  redis: DaemonStatus | null
  /** The Redis's (sentinel mode: the primary's) used memory against its maxmemory (null: it did not answer, or no primary is agreed on). */
  redisMemory: RedisMemory | null
  /** Sentinel mode: who is primary, each replica's lag, each Sentinel's view. */
  replicated: ReplicatedStatus | null
  apps: Array<Pm2App & { ready: boolean }>
  nginx: DaemonStatus | null
  /** null when the stack runs without it. */
  watchdog: DaemonStatus | null
  throughNginx: { expected: number, reached: string[] } | null
  /** OBSERVE=1: Prometheus, the exporters, and every scrape target's health. */
  observe: ObserveStatus | null
}

/** Each part of the stack, and whether a request through nginx reaches every instance. */
export async function status (dir: string): Promise<StackStatus> {
  const state = readState(dir)
  if (state === null) return { up: false, settings: null, redis: null, redisMemory: null, replicated: null, apps: [], nginx: null, watchdog: null, throughNginx: null, observe: null }
  const { settings } = state
  const ctx = partContext(state, stackSupervisor(state), () => {})
  const replicated = settings.redisMode === 'sentinel' ? await replicatedPart.status(ctx) : null
  const primary = replicated?.nodes.find((n) => n.port === replicated.primaryPort)
  return {
    up: true,
    settings,
    redis: replicated === null
      ? await redisPart.status(ctx)
      : { pid: primary?.pid ?? null, alive: primary?.alive ?? false, answers: primary?.role === 'primary' },
    redisMemory: replicated?.primaryPort === null ? null : await redisMemory(replicated?.primaryPort ?? settings.redisPort, stackRedisPassword(settings)),
    replicated,
    apps: await apiPart.status(ctx),
    nginx: await nginxPart.status(ctx),
    watchdog: settings.watchdog ? await watchdogPart.status(ctx) : null,
    throughNginx: { expected: settings.instances, reached: await instancesThrough(settings.lbPort, settings.instances) },
    observe: settings.observe ? await observeStatus(ctx) : null
  }
}
