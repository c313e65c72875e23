import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Supervisor, type ProcessRecords } from '../system/supervisor.js'
import { stackSettings, type StackSettings } from './settings.js'

/** What `up` started, so `down` (another run of the CLI) stops exactly that. Kept in <dir>/state.json. */
export interface StackState {
  settings: StackSettings
  /**
   * The daemons the supervisor started, by name ('redis', 'nginx'): PID, start
   * time, how to stop. PM2's own daemon is found through PM2_HOME/pm2.pid.
   */
  daemons: ProcessRecords
  upAt: string
}

/** The folders of a stack's state dir. */
export function stackPaths (dir: string) {
  return {
    state: join(dir, 'state.json'),
    redis: join(dir, 'redis'),
    /** Sentinel mode's replicated store: a folder per node (redis-1.., sentinel-1..). */
    redisHa: join(dir, 'redis-ha'),
    pm2Home: join(dir, 'pm2'),
    nginx: join(dir, 'nginx'),
    logs: join(dir, 'logs')
  }
}

export type StackPaths = ReturnType<typeof stackPaths>

export function readState (dir: string): StackState | null {
  const file = stackPaths(dir).state
  if (!existsSync(file)) return null
  const state = fromEarlierVersion(JSON.parse(readFileSync(file, 'utf8')) as StackState)
  // Settings added since it was written take their defaults (a stack started in single mode before sentinel mode existed).
  return { ...state, settings: { ...stackSettings({ dir: state.settings.dir }, {}), ...state.settings } }
}

/**
 * A state.json written before the supervisor (redisPid and nginxPid, no start
 * times): its daemons are adopted so that `down` still stops them.
 */
function fromEarlierVersion (state: StackState & { redisPid?: number, nginxPid?: number }): StackState {
  if (state.daemons !== undefined) return state
  const { redisPid, nginxPid, ...rest } = state
  const daemon = (name: string, pid: number | undefined, role: 'store' | 'balancer', stopSignal: NodeJS.Signals) =>
    pid === undefined ? [] : [[name, { name, role, pid, startTime: null, port: null, stopSignal, graceMs: 10_000, children: [] }]]
  return { ...rest, daemons: Object.fromEntries([...daemon('redis', redisPid, 'store', 'SIGTERM'), ...daemon('nginx', nginxPid, 'balancer', 'SIGQUIT')]) }
}

export function writeState (state: StackState): void {
  mkdirSync(state.settings.dir, { recursive: true })
  writeFileSync(stackPaths(state.settings.dir).state, JSON.stringify(state, null, 2) + '\n')
}

export function clearState (dir: string): void {
  rmSync(stackPaths(dir).state, { force: true })
}

/**
 * The supervisor of a stack's daemons: it adopts those `state` records, and
 * writes every process it starts into `state` and state.json the moment it is
 * spawned, so a later `down` (or a crash of this CLI) still finds it.
 */
export function stackSupervisor (state: StackState): Supervisor {
  return new Supervisor({
    detached: true,
    adopt: state.daemons,
    onChange: (daemons) => {
      state.daemons = daemons
      writeState(state)
    }
  })
}

/** The PID recorded for one of the stack's daemons, if any. */
export function daemonPid (state: StackState | null, name: string): number | undefined {
  return state?.daemons[name]?.pid
}
