import { execFile } from 'node:child_process'
import { connect } from 'node:net'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { requireBinary } from './binaries.js'
import { spawnDaemon, stopPid, waitFor } from './process.js'

export interface RedisServerOptions {
  port: number
  /** Holds redis.conf, the AOF and the log. */
  dir: string
  appendonly?: boolean
  appendfsync?: 'always' | 'everysec' | 'no'
  detached?: boolean
  /**
   * Called with the PID the moment it is spawned, before it answers: so an
   * interrupt while it boots can stop it (the caller records it for its cleanup).
   */
  onSpawn?: (pid: number) => void
}

/**
 * Starts a redis-server of our own, bound to 127.0.0.1, configured by a file in
 * `dir`. With appendonly (the stack's default) a restart replays the AOF.
 * Returns its PID once it answers PING.
 */
export async function startRedisServer (options: RedisServerOptions): Promise<number> {
  const binary = requireBinary('redis-server')
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
    'loglevel warning',
    ''
  ].join('\n'))
  const pid = spawnDaemon(binary, [conf], { logFile: join(options.dir, 'redis.log'), detached: options.detached })
  options.onSpawn?.(pid)
  try {
    await waitFor(`redis-server on port ${options.port} (log: ${join(options.dir, 'redis.log')})`, () => pingRedis(options.port), 10_000)
  } catch (err) {
    await stopPid(pid) // never leave behind a Redis nobody knows the PID of
    throw err
  }
  return pid
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

/** Sends one RESP command with a one-line reply (PING, CONFIG SET, FLUSHALL...) and resolves with that line, or rejects. */
export function redisCommand (port: number, args: string[], timeoutMs = 1000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' })
    let reply = ''
    socket.setTimeout(timeoutMs)
    socket.once('connect', () => {
      socket.write(`*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join(''))
    })
    socket.on('data', (chunk) => {
      reply += chunk.toString()
      if (reply.endsWith('\r\n')) { socket.destroy(); resolve(reply.trimEnd()) }
    })
    socket.once('timeout', () => { socket.destroy(); reject(new Error('redis did not answer')) })
    socket.once('error', reject)
  })
}

/** True when a Redis on 127.0.0.1:port answers PING (not LOADING, not down). */
export async function pingRedis (port: number): Promise<boolean> {
  try {
    return (await redisCommand(port, ['PING'])) === '+PONG'
  } catch {
    return false
  }
}
