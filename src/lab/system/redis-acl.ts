import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'

/** The ACL user the service connects as. */
export const SERVICE_REDIS_USER = 'scale-lab'

/**
 * What the service sends Redis, and nothing more (docs/hardening.md says why each):
 * its keys are under `sl:`; `info` is ioredis' ready check; Redis checks the user's
 * rights inside scripts too, hence the scripts' own commands.
 */
export const SERVICE_REDIS_RULES = [
  'resetkeys', '~sl:*', 'resetchannels', '-@all',
  '+auth', '+hello', '+ping', '+info', '+quit',
  '+evalsha', '+eval', '+hmget', '+get', '+set', '+hset', '+hincrby', '+incrby', '+pttl'
]

/** The passwords of a Redis: `admin` for the default user (the lab's own tools), `service` for the service's user. */
export interface RedisCredentials { admin: string, service: string }

/**
 * The credentials kept in `file` (mode 0600), generated the first time: the same
 * on every restart of that Redis, so a running service's URL stays valid.
 */
export function redisCredentials (file: string): RedisCredentials {
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as RedisCredentials
  mkdirSync(dirname(file), { recursive: true })
  const credentials = { admin: randomBytes(24).toString('hex'), service: randomBytes(24).toString('hex') }
  writeFileSync(file, JSON.stringify(credentials) + '\n', { mode: 0o600 })
  return credentials
}

/** The credentials in `file`, or undefined before they were generated (a stack started before them). */
export function storedCredentials (file: string): RedisCredentials | undefined {
  return existsSync(file) ? redisCredentials(file) : undefined
}

/** redis.conf's `user` lines: the default user needs the admin password, the service's user is limited. */
export function aclConfig (credentials: RedisCredentials): string[] {
  return [
    `user default on >${credentials.admin} ~* &* +@all`,
    `user ${SERVICE_REDIS_USER} on >${credentials.service} ${SERVICE_REDIS_RULES.join(' ')}`
  ]
}

/** The service's REDIS_URL for a Redis on 127.0.0.1:port: its user and password. */
export function serviceRedisUrl (port: number, credentials: RedisCredentials | undefined): string {
  return credentials === undefined
    ? `redis://127.0.0.1:${port}`
    : `redis://${SERVICE_REDIS_USER}:${credentials.service}@127.0.0.1:${port}`
}
