import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { StackSettings } from './settings.js'

/** What `up` started, by PID, so `down` stops exactly that. Kept in <dir>/state.json. */
export interface StackState {
  settings: StackSettings
  redisPid?: number
  nginxPid?: number
  /** (PM2's own daemon is found through PM2_HOME/pm2.pid.) */
  upAt: string
}

/** The folders of a stack's state dir. */
export function stackPaths (dir: string) {
  return {
    state: join(dir, 'state.json'),
    redis: join(dir, 'redis'),
    pm2Home: join(dir, 'pm2'),
    nginx: join(dir, 'nginx'),
    logs: join(dir, 'logs')
  }
}

export function readState (dir: string): StackState | null {
  const file = stackPaths(dir).state
  if (!existsSync(file)) return null
  return JSON.parse(readFileSync(file, 'utf8')) as StackState
}

export function writeState (state: StackState): void {
  mkdirSync(state.settings.dir, { recursive: true })
  writeFileSync(stackPaths(state.settings.dir).state, JSON.stringify(state, null, 2) + '\n')
}

export function clearState (dir: string): void {
  rmSync(stackPaths(dir).state, { force: true })
}
