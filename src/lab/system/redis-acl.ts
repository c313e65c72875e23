import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'

/** The ACL user the service connects as. */
export const SERVICE_REDIS_USER = 'scale-lab'

/**
 * What the service sends Redis, and nothing more (docs/hardening.md says why each):
 * its keys are under `sl:`; `info` is ioredis' ready check (in sentinel mode also
 * its check that it reached the primary); Redis checks the user's rights inside
 * scripts too, hence the scripts' own commands; `wait` is durable mode's.
 */
export const SERVICE_REDIS_RULES = [
  'resetkeys', '~sl:*', 'resetchannels', '-@all',
  '+auth', '+hello', '+ping', '+info', '+quit',
  '+evalsha', '+eval', '+hmget', '+get', '+set', '+hset', '+hincrby', '+incrby', '+pttl', '+wait'
]

/**
 * What the service asks a Sentinel, and nothing more: where the primary is and who
 * the other Sentinels are (ioredis), and the +switch-master announcements (its
 * failover watch). Not SENTINEL SET, REMOVE, MONITOR or FAILOVER: with those a
 * client could point every instance at a Redis of its own choosing. (No QUIT:
 * a Sentinel does not know it, and refuses to start with a rule naming it.)
 */
export const SENTINEL_SERVICE_RULES = [
  'resetkeys', 'resetchannels', '&+switch-master', '-@all',
  '+auth', '+hello', '+ping', '+info',
  '+sentinel|get-master-addr-by-name', '+sentinel|sentinels', '+subscribe'
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

/**
 * redis.conf's (or sentinel.conf's) `user` lines: the default user needs the admin
 * password, the service's user is limited to `serviceRules`.
 */
export function aclConfig (credentials: RedisCredentials, serviceRules: readonly string[] = SERVICE_REDIS_RULES): string[] {
  return [
    `user default on >${credentials.admin} ~* &* +@all`,
    `user ${SERVICE_REDIS_USER} on >${credentials.service} ${serviceRules.join(' ')}`
  ]
}

/** The service's REDIS_URL for a Redis on 127.0.0.1:port: its user and password. */
export function serviceRedisUrl (port: number, credentials: RedisCredentials | undefined): string {
  return credentials === undefined
    ? `redis://127.0.0.1:${port}`
    : `redis://${SERVICE_REDIS_USER}:${credentials.service}@127.0.0.1:${port}`
}
