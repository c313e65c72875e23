/**
 * What the failover drill does to the stack's replicated store, and what it
 * asks it: who is primary, when the Sentinels promote another, whether a stale
 * old primary still takes writes, when the whole topology is back. As the
 * default user with the topology's (admin) password: the stack's nodes require it.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { askNode, primaryPortFrom } from '../system/redis-topology-status.js'
import { nodeOnPort, sentinelAddresses, type Topology, type TopologyNode } from '../system/redis-topology.js'

/** The primary a majority of the Sentinels name now, or null. */
export async function agreedPrimary (topology: Topology): Promise<TopologyNode | null> {
  const sentinels = sentinelAddresses(topology)
  const named = await Promise.all(sentinels.map((s) => primaryPortFrom(s.port, topology.masterName, 1000, topology.password)))
  const port = named.find((p) => p !== null && named.filter((q) => q === p).length > sentinels.length / 2)
  return port === undefined || port === null ? null : nodeOnPort(topology, port)
}

/**
 * Tells when the Sentinels promote another primary: subscribed to +switch-master
 * on every Sentinel (the first to announce it is when the service's own watch
 * reacts too), and asking them once a second in case an announcement was missed.
 */
export class PromotionWatch {
  readonly #topology: Topology
  readonly #subscribers: Redis[]
  readonly #waiting = new Set<(port: number) => void>()

  constructor (topology: Topology) {
    this.#topology = topology
    this.#subscribers = sentinelAddresses(topology).map(({ host, port }) => {
      const subscriber = new Redis({ host, port, password: topology.password, connectTimeout: 1000, retryStrategy: () => 500, maxRetriesPerRequest: null })
      subscriber.on('error', () => {}) // a Sentinel that hiccups: the others still tell
      subscriber.subscribe('+switch-master').catch(() => {})
      subscriber.on('message', (_channel: string, message: string) => {
        // "<name> <old ip> <old port> <new ip> <new port>"
        const [name, , , , newPort] = message.split(' ')
        if (name === topology.masterName) for (const tell of this.#waiting) tell(Number(newPort))
      })
      return subscriber
    })
  }

  /** The node promoted in place of `old`, as soon as a Sentinel says so; null after `timeoutMs`. */
  async promotion (old: TopologyNode, timeoutMs: number): Promise<TopologyNode | null> {
    let found: ((port: number) => void) | undefined
    const announced = new Promise<number>((resolve) => {
      found = (port) => { if (port !== old.port) resolve(port) }
      this.#waiting.add(found)
    })
    const deadline = performance.now() + timeoutMs
    try {
      while (performance.now() < deadline) {
        const port = await Promise.race([announced, sleep(1000).then(() => this.#asked(old))])
        if (port !== null) return nodeOnPort(this.#topology, port)
      }
      return null
    } finally {
      this.#waiting.delete(found!)
    }
  }

  /** Another primary's port if a Sentinel names one now, else null. */
  async #asked (old: TopologyNode): Promise<number | null> {
    const named = await Promise.all(sentinelAddresses(this.#topology).map((s) => primaryPortFrom(s.port, this.#topology.masterName, 300, this.#topology.password)))
    return named.find((port) => port !== null && port !== old.port) ?? null
  }

  close (): void {
    for (const subscriber of this.#subscribers) subscriber.disconnect()
  }
}

/** What a write straight to a node answered: its new value, or the error's first word (READONLY, NOREPLICAS), or null for no answer. */
export type ProbeAnswer = { accepted: number } | { refused: string } | null

/** INCR `key` on the node at `port`, as a client that missed the failover would. */
export async function probeWrite (port: number, key: string, password?: string): Promise<ProbeAnswer> {
  return askNode(port, async (client): Promise<ProbeAnswer> => {
    try {
      return { accepted: await client.incr(key) }
    } catch (err) {
      return { refused: (err as Error).message.split(' ')[0] ?? 'error' }
    }
  }, 500, password)
}

/** How a stale primary answered the split-brain probe. */
export interface StaleWrites {
  /** Writes it accepted after the promotion. */
  accepted: number
  /** What it refused with at last (READONLY once it is a replica, NOREPLICAS under min-replicas-to-write), or null. */
  refusedWith: string | null
  /** Ms from its first accepted write to its refusal (how long it was a stale primary taking writes), or null. */
  staleForMs: number | null
}

/**
 * Writes to the old primary every `everyMs` until it refuses (it was made a
 * replica, or refuses without replicas) or `done` says to stop: what any client
 * that missed the failover would have had acknowledged and then lost.
 */
export async function probeStalePrimary (port: number, key: string, done: () => boolean, password?: string, everyMs = 250): Promise<StaleWrites> {
  const result: StaleWrites = { accepted: 0, refusedWith: null, staleForMs: null }
  let firstAcceptedAt: number | null = null
  while (!done()) {
    const answer = await probeWrite(port, key, password)
    if (answer !== null && 'accepted' in answer) {
      result.accepted++
      firstAcceptedAt ??= performance.now()
    } else if (answer !== null) {
      result.refusedWith = answer.refused
      if (firstAcceptedAt !== null) result.staleForMs = Math.round(performance.now() - firstAcceptedAt)
      return result
    }
    await sleep(everyMs)
  }
  return result
}

/** Whether `key` exists on the node at `port` (null: no answer). */
export async function keyExists (port: number, key: string, password?: string): Promise<boolean | null> {
  const found = await askNode(port, (client) => client.exists(key), 1000, password)
  return found === null ? null : found > 0
}
