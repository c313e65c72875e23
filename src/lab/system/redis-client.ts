import { Redis } from 'ioredis'

/**
 * Runs `work` on a short-lived ioredis client of 127.0.0.1:port, and always
 * disconnects it. For the lab's few commands (PING, CONFIG SET, FLUSHALL, INFO):
 * short timeouts, no offline queue, no reconnect, no ready check (a Redis still
 * loading its AOF answers LOADING, which is an answer, not a wait).
 */
export async function withRedis<T> (port: number, work: (redis: Redis) => Promise<T>, timeoutMs = 1000, password?: string): Promise<T> {
  const redis = new Redis({
    host: '127.0.0.1',
    port,
    // The default user's password, on a Redis that requires one (the stack's).
    ...(password === undefined ? {} : { password }),
    lazyConnect: true,
    enableOfflineQueue: false,
    enableReadyCheck: false,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null
  })
  // The failure reaches the caller through connect() or the command; without a
  // listener ioredis would also print it.
  redis.on('error', () => {})
  try {
    await redis.connect()
    return await work(redis)
  } finally {
    redis.disconnect()
  }
}

/** True when a Redis on 127.0.0.1:port answers PING (not LOADING, not down). */
export async function pingRedis (port: number, password?: string): Promise<boolean> {
  try {
    return (await withRedis(port, (redis) => redis.ping(), 1000, password)) === 'PONG'
  } catch {
    return false
  }
}

/** A whole-number field of an INFO answer (`used_memory:1234`), or `missing` when the answer has none. */
export function infoNumber (info: string, name: string, missing = NaN): number {
  const value = new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1]
  return value === undefined ? missing : Number(value)
}
