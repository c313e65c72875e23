/**
 * The processes a bench run starts: one Redis (and, for the durable-mode cells, a
 * replicated one), pools of API instances, one nginx per topology, the seed's
 * Express and node:cluster. All on free ports, in one temporary folder, attached
 * to this process's group through the lab's supervisor, stopped by PID at the end
 * (and on failure half-way). They stay up for the whole run.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { DEFAULT_TRUST_PROXY } from '../../shared/contract.js'
import { PROJECT_DIR, SERVER_SCRIPT } from '../paths.js'
import { freePort } from '../system/ports.js'
import { parentMap, withDescendants } from '../system/proc.js'
import { childEnv } from '../system/process.js'
import { redisServerSpec } from '../system/redis-server.js'
import type { Topology as RedisTopology } from '../system/redis-topology.js'
import { StartError, Supervisor, type DaemonSpec, type Role } from '../system/supervisor.js'
import { EDGE_DEFAULTS, nginxSpec, writeNginxConfig } from '../stack/nginx.js'
import { isReady, probe } from '../stack/probe.js'
import { POOLS, topologyId, type CellSpec, type Needs, type PoolId, type PoolSpec, type Topology } from './matrix.js'
import { replicatedStoreEnv, startReplicatedStore } from './replicated-store.js'
import { prepareVariant } from './variant.js'

export type Group = 'nginx' | 'api' | 'redis'

/** The fleet's CPU groups are the supervisor's roles under the names the bench reports. */
const GROUP_OF: Partial<Record<Role, Group>> = { balancer: 'nginx', server: 'api', store: 'redis', monitor: 'redis' }

export interface StartedProcess {
  name: string
  group: Group
  pid: number
  port: number
  /** Child processes seen once it was up (nginx workers, cluster workers). */
  children: number[]
}

/** Ports someone else's stack uses on this machine: never ours, even if free. */
const RESERVED_PORTS = new Set([80, 8080, 6379, 3000, 3001, 3002, 3003, 3004])

export const SEED_EXPRESS_SCRIPT = join(PROJECT_DIR, 'dist', 'lab', 'bench', 'seed-express.js')
export const SEED_CLUSTER_SCRIPT = join(PROJECT_DIR, 'dist', 'lab', 'bench', 'seed-cluster.js')

export class FleetError extends Error {
  override name = 'FleetError'
}

export class Fleet {
  readonly pools = new Map<PoolId, number[]>()
  /** The unix socket of each instance of a pool that serves one, in the order of its ports. */
  readonly sockets = new Map<PoolId, string[]>()
  readonly nginxPorts = new Map<string, number>()
  redisPort: number | null = null
  /** The replicated Redis of the durable-mode cells (its nodes: redis-1 the primary, redis-2, sentinel-1). */
  replicated: RedisTopology | null = null
  expressPort: number | null = null
  clusterPort: number | null = null
  readonly #usedPorts = new Set<number>()
  readonly #supervisor = new Supervisor({ detached: false })
  /** The start() in progress, which stop() waits for. */
  #starting: Promise<void> | null = null

  constructor (readonly dir: string, private readonly log: (line: string) => void = () => {}) {
    mkdirSync(dir, { recursive: true })
  }

  /** Every process started (stopped ones included), with the children seen once it was up. */
  get processes (): StartedProcess[] {
    return this.#supervisor.processes.map((p) => ({ name: p.name, group: GROUP_OF[p.role] ?? 'api', pid: p.pid, port: p.port ?? 0, children: p.children.map((c) => c.pid) }))
  }

  /** Starts everything `needs` asks for; on any failure stops what it started and rethrows. */
  async start (needs: Needs): Promise<void> {
    this.#starting = this.#start(needs)
    try {
      await this.#starting
    } finally {
      this.#starting = null
    }
  }

  async #start (needs: Needs): Promise<void> {
    try {
      if (needs.redis) {
        const port = await this.port()
        this.redisPort = port
        await this.#supervisor.start(redisServerSpec({ port, dir: join(this.dir, 'redis'), appendonly: true, appendfsync: 'everysec' }))
      }
      if (needs.replicated) this.replicated = await startReplicatedStore(this.dir, () => this.port(), this.#supervisor)
      const variants = new Map<PoolId, string>()
      for (const id of needs.pools.keys()) {
        const patch = POOLS[id].patch
        if (patch !== undefined) variants.set(id, prepareVariant(this.dir, patch))
      }
      const seeds: Array<Promise<void>> = []
      if (needs.express) seeds.push(this.#startExpress())
      if (needs.clusterWorkers > 0) seeds.push(this.#startCluster(needs.clusterWorkers))
      const seedsSettled = Promise.allSettled(seeds)
      // One pool at a time, its instances together: a dozen Node processes booting at
      // once on two busy cores each took longer than the ready timeout (30 s).
      const settled: Array<PromiseSettledResult<void>> = []
      for (const [id, count] of needs.pools) {
        const ports: number[] = []
        for (let i = 1; i <= count; i++) ports.push(await this.port())
        this.pools.set(id, ports)
        if (POOLS[id].unixSocket === true) this.sockets.set(id, ports.map((_, i) => this.#socketPath(id, i + 1)))
        settled.push(...await Promise.allSettled(ports.map((port, i) => this.#startApi(POOLS[id], i + 1, port, variants.get(id) ?? SERVER_SCRIPT))))
        if (settled.some((s) => s.status === 'rejected')) break
      }
      settled.push(...await seedsSettled)
      const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected')
      if (failed !== undefined) throw failed.reason
      for (const [id, topology] of needs.topologies) await this.#startNginx(id, topology)
    } catch (err) {
      await this.#supervisor.stop()
      throw err instanceof StartError ? new FleetError(err.message) : err
    }
  }

  /** http://127.0.0.1:<port> of whatever serves a cell. */
  baseUrl (cell: CellSpec): string {
    const s = cell.server
    const port = s.kind === 'express'
      ? this.expressPort
      : s.kind === 'cluster'
        ? this.clusterPort
        : s.kind === 'direct'
          ? this.pools.get(s.pool)?.[0]
          : this.nginxPorts.get(topologyId(s.topology))
    if (port === null || port === undefined) throw new FleetError(`nothing started for cell ${cell.id}`)
    return `http://127.0.0.1:${port}`
  }

  /** Every PID of each group, children included, as /proc shows them now. */
  groupPids (): Record<Group, number[]> {
    const parents = parentMap()
    const groups: Record<Group, number[]> = { nginx: [], api: [], redis: [] }
    for (const p of this.processes) groups[p.group].push(...withDescendants([p.pid], parents))
    return groups
  }

  /** Every PID started (children included) and every port used: for checks that all is gone. */
  allPids (): number[] {
    return this.processes.flatMap((p) => [p.pid, ...p.children])
  }

  allPorts (): number[] {
    return this.processes.map((p) => p.port)
  }

  /**
   * Stops everything by PID, in the supervisor's order: the balancers first (their
   * idle upstream connections would hold the instances), then the servers, then
   * Redis. Returns what is still alive afterwards (nothing, unless SIGKILL failed).
   */
  async stop (): Promise<number[]> {
    // An interrupt can land while start() is still spawning or waiting for a process
    // it spawned. Closed, the supervisor spawns nothing more and a start still waiting
    // gives up (stopping its process): once start() has failed, nothing is left behind.
    this.#supervisor.close()
    await this.#starting?.catch(() => {})
    return this.#supervisor.stop()
  }

  /** A free port, never one of the reserved ones, never one this fleet already took. */
  async port (): Promise<number> {
    for (let attempt = 0; attempt < 100; attempt++) {
      const port = await freePort()
      if (RESERVED_PORTS.has(port) || this.#usedPorts.has(port)) continue
      this.#usedPorts.add(port)
      return port
    }
    throw new FleetError('no free port found')
  }

  /** A Node server of the fleet, attached to this process, its output in its log file; resolves once `ready` says it serves. */
  async #startNodeServer (script: string, env: Record<string, string>, spec: Pick<DaemonSpec, 'name' | 'title' | 'port' | 'logFile' | 'waitingFor' | 'ready'>): Promise<void> {
    if (!existsSync(script)) throw new FleetError(`${script} is missing: run npm run build`)
    await this.#supervisor.start({ ...spec, role: 'server', command: process.execPath, args: [script], env: childEnv(env), cwd: this.dir, readyTimeoutMs: 30_000, pollMs: 100 })
  }

  /** An instance's unix socket: in a folder nginx's workers (nobody, under root) can reach. */
  #socketPath (pool: PoolId, index: number): string {
    const dir = join(this.dir, 'sockets')
    mkdirSync(dir, { recursive: true })
    chmodSync(this.dir, 0o711)
    chmodSync(dir, 0o711)
    return join(dir, `${pool}-${index}.sock`)
  }

  async #startApi (pool: PoolSpec, index: number, port: number, script: string): Promise<void> {
    const name = `api ${pool.id}-${index}`
    await this.#startNodeServer(script, {
      HOST: '127.0.0.1',
      PORT: String(port),
      INSTANCE_ID: `${pool.id}-${index}`,
      STORE: pool.store,
      REDIS_URL: `redis://127.0.0.1:${this.redisPort ?? 1}`,
      LOG_LEVEL: pool.logLevel,
      TRUST_PROXY: DEFAULT_TRUST_PROXY,
      // The bench measures capacity with a closed loop (each connection waits for its
      // answer): nothing to shed, and GET /work's 503s past WORK_QUEUE would be errors.
      WORK_SHED: '0',
      // Started before any pool: needsOf asks for it whenever a pool is on it.
      ...(pool.replicated === true ? replicatedStoreEnv(this.replicated!) : {}),
      ...(pool.unixSocket === true ? { SOCKET_PATH: this.sockets.get(pool.id)![index - 1]! } : {}),
      ...pool.env
    }, {
      name,
      port,
      logFile: join(this.dir, `api-${pool.id}-${index}.log`),
      waitingFor: `${name} to answer /health/ready on port ${port}`,
      ready: () => isReady(port)
    })
  }

  async #startExpress (): Promise<void> {
    const port = await this.port()
    this.expressPort = port
    await this.#startNodeServer(SEED_EXPRESS_SCRIPT, { HOST: '127.0.0.1', PORT: String(port) }, {
      name: 'seed express',
      title: "the seed's Express",
      port,
      logFile: join(this.dir, 'seed-express.log'),
      waitingFor: `the seed's Express on port ${port}`,
      ready: async () => (await probe(port, '/', 1000))?.status === 200
    })
  }

  async #startCluster (workers: number): Promise<void> {
    const port = await this.port()
    const logFile = join(this.dir, 'seed-cluster.log')
    this.clusterPort = port
    await this.#startNodeServer(SEED_CLUSTER_SCRIPT, { HOST: '127.0.0.1', PORT: String(port), WORKERS: String(workers) }, {
      name: 'seed cluster',
      title: "the seed's cluster",
      port,
      logFile,
      waitingFor: `the seed's cluster (${workers} workers) on port ${port}`,
      ready: () => existsSync(logFile) && readFileSync(logFile, 'utf8').includes('seed cluster ready')
    })
  }

  async #startNginx (id: string, topology: Topology): Promise<void> {
    const port = await this.port()
    const prefix = join(this.dir, `nginx-${id}`)
    // nginx alone points at a port nothing listens on: only /nginx-health, which it answers itself, is asked.
    const upstreams = topology.pool === null
      ? [`127.0.0.1:${await this.port()}`]
      : this.sockets.get(topology.pool)?.slice(0, topology.instances).map((path) => `unix:${path}`) ??
        (this.pools.get(topology.pool) ?? []).slice(0, topology.instances).map((p) => `127.0.0.1:${p}`)
    if (topology.pool !== null && upstreams.length < topology.instances) throw new FleetError(`topology ${id}: too few instances started`)
    await writeNginxConfig(prefix, {
      listen: `127.0.0.1:${port}`,
      upstreams,
      keepalive: topology.keepalive ? 256 : 0,
      retryNonIdempotent: true,
      passiveHealth: true,
      retryShed: false,
      // The instances run WORK_SHED=0 here: no bound at the edge either.
      workMaxConns: 0,
      accessLogFile: topology.accessLog ? join(prefix, 'logs', 'access.log') : null,
      // The template's stub_status listener needs a port of its own; nothing scrapes it here.
      statusListen: `127.0.0.1:${await this.port()}`,
      // The edge's limits as deployed: their cost is part of what the bench measures.
      edge: EDGE_DEFAULTS,
      workerProcesses: topology.workerProcesses
    })
    await this.#supervisor.start(nginxSpec(`nginx ${id}`, prefix, port))
    this.nginxPorts.set(id, port)
  }
}
