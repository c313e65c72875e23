import { Redis, type RedisOptions } from 'ioredis'

/** Sentinel mode: where to ask for the primary. */
export interface SentinelOptions {
  sentinels: Array<{ host: string, port: number }>
  /** The name the Sentinels monitor the primary under. */
  name: string
  /** The Sentinels' own credentials, when they have any. */
  username?: string
  password?: string
}

/** How often the client retries while the primary is gone. */
const RECONNECT_MS = 100
/** How often a lost subscription to a Sentinel is tried again (the other Sentinels still tell meanwhile). */
const RESUBSCRIBE_MS = 1000

/**
 * The client options that go through the Sentinels (ioredis asks them where the
 * primary is at every connect), tuned so a failover costs about as long as
 * Sentinel takes to promote a replica (measured in docs/store-ha.md):
 * - a fixed 100 ms reconnect instead of a backoff: each attempt is one question
 *   to a Sentinel, and the new primary is used within 100 ms of its promotion (a
 *   growing backoff added up to 1.7 s in a trial);
 * - READONLY (a demoted primary) drops the connection and asks again; the
 *   command itself is answered 503 (it was not applied: retry);
 * - asking a Sentinel is bounded like a command (`commandTimeout`), so a paused
 *   Sentinel costs one timeout and the next is asked; all of them unreachable:
 *   ask again every ≤ 500 ms.
 * Not ioredis' own `failoverDetector`: see watchFailovers.
 */
export function throughSentinels (sentinel: SentinelOptions, commandTimeout: number, tls: boolean): RedisOptions {
  return {
    sentinels: sentinel.sentinels,
    name: sentinel.name,
    role: 'master',
    sentinelUsername: sentinel.username || undefined,
    sentinelPassword: sentinel.password || undefined,
    sentinelCommandTimeout: commandTimeout,
    sentinelRetryStrategy: (attempt) => Math.min(attempt * 50, 500),
    retryStrategy: () => RECONNECT_MS,
    reconnectOnError: (err) => err.message.startsWith('READONLY') ? 1 : false,
    enableTLSForSentinelMode: tls
  }
}

/**
 * Listens for +switch-master on every Sentinel and, when a replica is promoted,
 * drops the client's connection unless it is already to the new primary. That
 * is what stops a client trusting a paused primary: its socket still looks open,
 * and it resumes taking writes that the failover already discarded (~307k
 * acknowledged writes lost in a trial). The client then reconnects through the
 * Sentinels.
 *
 * ioredis' `failoverDetector` does this too, but it dropped the connection again
 * at each Sentinel's own late +switch-master (each announces the switch when it
 * learns it, up to ~2 s apart), and a detection that fell on a reconnect in
 * progress left the client closed for good (both seen here, ioredis 6.0.0).
 * Here a client mid-reconnect is left alone: its next attempt asks the Sentinels.
 *
 * Returns a function that closes the subscriptions.
 */
export function watchFailovers (client: Redis, sentinel: SentinelOptions, onSwitch: (primary: string) => void): () => void {
  const subscribers = sentinel.sentinels.map(({ host, port }) => {
    const subscriber = new Redis({
      host,
      port,
      username: sentinel.username || undefined,
      password: sentinel.password || undefined,
      connectTimeout: 1000,
      retryStrategy: () => RESUBSCRIBE_MS,
      // The SUBSCRIBE waits for the connection; it is sent again after every reconnect.
      maxRetriesPerRequest: null
    })
    subscriber.on('error', () => {}) // a Sentinel down is normal: the others still tell
    subscriber.subscribe('+switch-master').catch(() => {})
    subscriber.on('message', (_channel: string, message: string) => {
      // "<name> <old ip> <old port> <new ip> <new port>"
      const [name, , , ip, newPort] = message.split(' ')
      if (name !== sentinel.name) return
      const stream = client.stream
      const onNew = stream?.remotePort === Number(newPort) && stream.remoteAddress?.endsWith(ip ?? '')
      if ((client.status === 'ready' || client.status === 'connect') && !onNew) {
        onSwitch(`${ip}:${newPort}`)
        client.disconnect(true)
      }
    })
    return subscriber
  })
  return () => { for (const subscriber of subscribers) subscriber.disconnect() }
}
