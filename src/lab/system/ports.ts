import { createServer, connect } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

/** True when nothing listens on host:port and we may bind it. */
export async function canBind (port: number, host = '127.0.0.1'): Promise<boolean> {
  return (await bindError(port, host)) === null
}

/** The error code binding host:port fails with (EACCES, EADDRINUSE), or null when it can be bound. */
export function bindError (port: number, host = '127.0.0.1'): Promise<string | null> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message))
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(null)))
  })
}

/** True when something accepts connections on host:port. */
export function isListening (port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host })
    socket.setTimeout(1000)
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('timeout', () => { socket.destroy(); resolve(false) })
    socket.once('error', () => resolve(false))
  })
}

/**
 * How long a port may stay held by a process that already looks gone. A killed
 * multi-threaded process (redis-server) shows its main thread as a zombie while
 * another of its threads still closes the listening socket: `up` right after a
 * SIGKILL once saw the port of a node it was about to start again still taken.
 */
const RELEASE_GRACE_MS = 1000

/** The ports something still listens on after RELEASE_GRACE_MS (none, once everything stopped). */
export async function busyPorts (ports: readonly number[]): Promise<number[]> {
  const deadline = Date.now() + RELEASE_GRACE_MS
  for (;;) {
    const busy: number[] = []
    for (const port of ports) if (await isListening(port)) busy.push(port)
    if (busy.length === 0 || Date.now() >= deadline) return busy
    await sleep(50)
  }
}

/** True when something listens on `port` and still does after RELEASE_GRACE_MS. */
export async function isTaken (port: number): Promise<boolean> {
  return (await busyPorts([port])).length > 0
}

/** A port the OS says is free right now. */
export function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen({ port: 0, host: '127.0.0.1' }, () => {
      const address = server.address()
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port)
        else reject(new Error('no port'))
      })
    })
  })
}

/**
 * `count` consecutive free ports (for api instances on base..base+count-1), from
 * 10000–30000: below Linux's ephemeral range (32768+), where freePort's ports and
 * outgoing connections come from.
 */
export async function freePortRange (count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 10000 + Math.floor(Math.random() * 20000)
    const free = await Promise.all(Array.from({ length: count }, (_, i) => canBind(base + i)))
    if (free.every(Boolean)) return base
  }
  throw new Error(`could not find ${count} consecutive free ports`)
}
