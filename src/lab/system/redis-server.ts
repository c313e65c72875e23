import { execFile } from 'node:child_process'
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { requireBinary } from './binaries.js'
import { aclConfig, type RedisCredentials } from './redis-acl.js'
import { pingRedis } from './redis-client.js'
import type { DaemonSpec } from './supervisor.js'

export interface RedisServerOptions {
  /** The supervisor's name for it (default 'redis'). */
  name?: string
  port: number
  /** Holds redis.conf, the AOF and the log. */
  dir: string
  appendonly?: boolean
  appendfsync?: 'always' | 'everysec' | 'no'
  /** Redis's `maxmemory` ("512mb"), with noeviction: a full Redis refuses writes and drops nothing. Unset: unbounded. */
  maxmemory?: string
  /** Passwords required: the default user's (admin) and the service's limited user. Unset: none (the tests' own Redis). */
  credentials?: RedisCredentials
}

/**
 * How long a starting Redis may take to answer PING: with AOF it first replays
 * the file (answering LOADING meanwhile), 3–5 s for 13 MB on a busy 2-core
 * machine, and the file grows past 64 MB before a rewrite compacts it.
 */
export const REDIS_LOAD_WAIT_MS = 60_000

/**
 * A redis-server of our own for the supervisor to start: bound to 127.0.0.1,
 * configured by a file written now in `dir`. With appendonly (the stack's
 * default) a restart replays the AOF. Ready once it answers PING; SIGTERM lets it
 * write its AOF and exit, which may take a while with much data.
 */
export function redisServerSpec (options: RedisServerOptions): DaemonSpec {
  mkdirSync(options.dir, { recursive: true })
  const conf = join(options.dir, 'redis.conf')
  writeFileSync(conf, [
    `port ${options.port}`,
    'bind 127.0.0.1',
    'protected-mode yes',
    'daemonize no',
    `dir ${options.dir}`,
    'save ""',
    `appendonly ${options.appendonly === false ? 'no' : 'yes'}`,
    `appendfsync ${options.appendfsync ?? 'everysec'}`,
    // The AOF is rewritten (compacted) once it has doubled since the last rewrite and
    // is past 64 MB: without it, it grows by every write ever made.
    'auto-aof-rewrite-percentage 100',
    'auto-aof-rewrite-min-size 64mb',
    ...maxmemoryConfig(options.maxmemory),
    ...UNREAD_STATS_OFF,
    ...(options.credentials === undefined ? [] : aclConfig(options.credentials)),
    'loglevel warning',
    ''
  ].join('\n'), { mode: 0o600 })
  // (writeFileSync's mode applies to a new file only: an older one is made private too.)
  chmodSync(conf, 0o600)
  const logFile = join(options.dir, 'redis.log')
  return {
    name: options.name ?? 'redis',
    title: 'redis-server',
    role: 'store',
    command: requireBinary('redis-server'),
    args: [conf],
    logFile,
    port: options.port,
    ready: () => pingRedis(options.port, options.credentials?.admin),
    readyTimeoutMs: REDIS_LOAD_WAIT_MS,
    waitingFor: `redis-server on port ${options.port} (log: ${logFile})`,
    stopSignal: 'SIGTERM',
    graceMs: 10_000
  }
}

/**
 * Statistics nothing of ours reads, off: Redis 7's per-command latency percentiles
 * (`latency-tracking`) cost a histogram update per command, and the Redis exporter
 * turns them into ~65 series that Prometheus parses and stores every second
 * (docs/observability.md, "What the metrics cost").
 */
export const UNREAD_STATS_OFF = ['latency-tracking no']

/** redis.conf's memory bound: `maxmemory` with noeviction (a full Redis refuses writes, drops nothing); none without one. */
export function maxmemoryConfig (maxmemory: string | undefined): string[] {
  return maxmemory === undefined ? [] : [`maxmemory ${maxmemory}`, 'maxmemory-policy noeviction']
}

/** "7.0.15" from `redis-server --version`, or undefined (no redis-server, or another output). */
export async function redisVersion (): Promise<string | undefined> {
  try {
    const { stdout } = await promisify(execFile)(requireBinary('redis-server'), ['--version'])
    return /v=(\S+)/.exec(stdout)?.[1]
  } catch {
    return undefined
  }
}
