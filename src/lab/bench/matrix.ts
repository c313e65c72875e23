/**
 * The bench matrix: every configuration ("cell") the bench can measure, what
 * serves it, and the request it sends. The processes a run needs are derived
 * from the cells chosen, so a subset starts only what it uses.
 */
import type { BenchCell, HotPathChoice } from '../results.js'

/** A set of API instances started alike (`node dist/server.js`), shared by the cells that use it. */
export type PoolId = 'redis' | 'memory' | 'log-info' | 'no-pipelining' | 'no-schemas' | 'parse-kv' | 'no-metrics' | 'no-rate-limit' | 'unix-socket' | 'replicated' | 'durable'

export interface PoolSpec {
  id: PoolId
  store: 'redis' | 'memory'
  logLevel: 'warn' | 'info'
  /** A scratch copy of dist/ with one hot-path choice undone (src/ is never touched). */
  patch?: 'no-pipelining' | 'no-schemas' | 'parse-kv'
  /** Service settings that turn one feature off (METRICS=0...), on top of the fleet's own. */
  env?: Record<string, string>
  /**
   * On the fleet's replicated Redis (a primary, a replica, a Sentinel), found through
   * the Sentinel as the stack's sentinel mode does; otherwise on the fleet's one Redis.
   */
  replicated?: boolean
  /** Each instance serves a unix socket too (SOCKET_PATH), and nginx reaches it there instead of its port. */
  unixSocket?: boolean
}

export const POOLS: Record<PoolId, PoolSpec> = {
  redis: { id: 'redis', store: 'redis', logLevel: 'warn' },
  memory: { id: 'memory', store: 'memory', logLevel: 'warn' },
  'log-info': { id: 'log-info', store: 'redis', logLevel: 'info' },
  'no-pipelining': { id: 'no-pipelining', store: 'redis', logLevel: 'warn', patch: 'no-pipelining' },
  'no-schemas': { id: 'no-schemas', store: 'redis', logLevel: 'warn', patch: 'no-schemas' },
  'parse-kv': { id: 'parse-kv', store: 'redis', logLevel: 'warn', patch: 'parse-kv' },
  'no-metrics': { id: 'no-metrics', store: 'redis', logLevel: 'warn', env: { METRICS: '0' } },
  'no-rate-limit': { id: 'no-rate-limit', store: 'redis', logLevel: 'warn', env: { RATE_LIMIT_MAX: '0' } },
  'unix-socket': { id: 'unix-socket', store: 'redis', logLevel: 'warn', unixSocket: true },
  replicated: { id: 'replicated', store: 'redis', logLevel: 'warn', replicated: true },
  durable: { id: 'durable', store: 'redis', logLevel: 'warn', replicated: true, env: { REDIS_DURABLE: '1' } }
}

/** One nginx in front of the first `instances` of a pool (pool null: nginx alone, nothing behind it). */
export interface Topology {
  pool: PoolId | null
  instances: number
  keepalive: boolean
  accessLog: boolean
  /** nginx's worker_processes when not `auto` (one per core). */
  workerProcesses?: number
}

export function topologyId (t: Topology): string {
  if (t.pool === null) return 'ceiling'
  const workers = t.workerProcesses === undefined ? '' : `workers-${t.workerProcesses}`
  return [t.pool, String(t.instances), t.keepalive ? '' : 'no-keepalive', t.accessLog ? 'access-log' : '', workers].filter(Boolean).join('-')
}

export type CellServer =
  | { kind: 'express' }
  | { kind: 'cluster', workers: number }
  | { kind: 'direct', pool: PoolId }
  | { kind: 'nginx', topology: Topology }

export interface CellSpec extends Pick<BenchCell, 'id' | 'label' | 'group' | 'via' | 'instances' | 'keepalive' | 'route' | 'store'> {
  method: 'GET' | 'POST'
  /** Path and query sent. */
  path: string
  body?: string
  server: CellServer
  /** Part of the short matrix (`--quick`). */
  quick?: boolean
  /** A hot-path variant of the stack's GET /kv: the choice it undoes. */
  hotPath?: HotPathChoice
}

/** The key every GET /kv cell reads (written before the runs) and the counter the POSTs increment. */
export const BENCH_KEY = 'bench'
export const KV_PATH = `/kv/${BENCH_KEY}`
export const INCR_PATH = `/counters/${BENCH_KEY}/incr`
export const INCR_BODY = '{"by":1}'

/** The stack the targets speak of: nginx → 4 instances, upstream keepalive on, Redis, access log off (BENCH=1). */
export const STACK_CELL = 'nginx-4-kv-redis'
export const STACK_DESCRIPTION = 'nginx → 4 instances, upstream keepalive on, Redis store, access log off (BENCH=1), LOG_LEVEL=warn'
/** The same stack on the trivial route: what the store costs is the stack's GET /kv against this. */
export const TRIVIAL_STACK_CELL = 'nginx-4-trivial'
export const SEED_PEER_CELL = 'express-1-trivial'
export const DIRECT_CELL = 'direct-1-trivial'
export const CEILING_CELL = 'nginx-only'
/** The stack with a feature that every request pays for turned off: what it costs is the stack's GET /kv against these. */
export const NO_METRICS_CELL = 'hot-kv-no-metrics'
export const NO_RATE_LIMIT_CELL = 'hot-kv-no-rate-limit'
/** POST incr through the stack on a replicated store, without and with durable mode: what WAIT 1 costs is the one against the other. */
export const REPLICATED_INCR_CELL = 'nginx-4-incr-replicated'
export const DURABLE_INCR_CELL = 'nginx-4-incr-durable'

const nginx = (pool: PoolId, instances: number, extra: Partial<Topology> = {}): CellServer =>
  ({ kind: 'nginx', topology: { pool, instances, keepalive: true, accessLog: false, ...extra } })

/** Every cell, in the order tables list them. `workMs` is the CPU-bound route's N. */
export function allCells (workMs = 5): CellSpec[] {
  const work = `/work?ms=${workMs}`
  const cells: CellSpec[] = [
    { id: 'express-1-trivial', label: "seed's peer: one Express 4 process, GET /", group: 'baseline', via: 'express', instances: 1, route: 'GET /', method: 'GET', path: '/', server: { kind: 'express' }, quick: true },
    { id: 'cluster-4-trivial', label: 'seed: Express under node:cluster, 4 workers, GET /', group: 'baseline', via: 'cluster', instances: 4, route: 'GET /', method: 'GET', path: '/', server: { kind: 'cluster', workers: 4 } },
    { id: 'nginx-only', label: 'nginx alone (/nginx-health)', group: 'ceiling', via: 'nginx-only', instances: null, route: 'GET /nginx-health', method: 'GET', path: '/nginx-health', server: { kind: 'nginx', topology: { pool: null, instances: 0, keepalive: true, accessLog: false } }, quick: true },

    { id: 'direct-1-trivial', label: '1 instance direct, GET /', group: 'direct', via: 'direct', instances: 1, route: 'GET /', method: 'GET', path: '/', server: { kind: 'direct', pool: 'redis' }, quick: true },
    { id: 'direct-1-kv-redis', label: '1 instance direct, GET /kv (redis)', group: 'direct', via: 'direct', instances: 1, route: 'GET /kv/:key', store: 'redis', method: 'GET', path: KV_PATH, server: { kind: 'direct', pool: 'redis' } },
    { id: 'direct-1-incr-redis', label: '1 instance direct, POST /counters incr (redis)', group: 'direct', via: 'direct', instances: 1, route: 'POST /counters/:name/incr', store: 'redis', method: 'POST', path: INCR_PATH, body: INCR_BODY, server: { kind: 'direct', pool: 'redis' } },
    { id: 'direct-1-kv-memory', label: '1 instance direct, GET /kv (memory)', group: 'direct', via: 'direct', instances: 1, route: 'GET /kv/:key', store: 'memory', method: 'GET', path: KV_PATH, server: { kind: 'direct', pool: 'memory' } },

    { id: 'nginx-1-trivial', label: 'nginx → 1 instance, GET /', group: 'balanced', via: 'nginx', instances: 1, keepalive: true, route: 'GET /', method: 'GET', path: '/', server: nginx('redis', 1) },
    { id: 'nginx-2-trivial', label: 'nginx → 2 instances, GET /', group: 'balanced', via: 'nginx', instances: 2, keepalive: true, route: 'GET /', method: 'GET', path: '/', server: nginx('redis', 2) },
    { id: TRIVIAL_STACK_CELL, label: 'nginx → 4 instances, GET /', group: 'balanced', via: 'nginx', instances: 4, keepalive: true, route: 'GET /', method: 'GET', path: '/', server: nginx('redis', 4), quick: true },
    { id: 'nginx-4-trivial-no-keepalive', label: 'nginx → 4 instances, no upstream keepalive, GET /', group: 'balanced', via: 'nginx', instances: 4, keepalive: false, route: 'GET /', method: 'GET', path: '/', server: nginx('redis', 4, { keepalive: false }) },

    { id: 'nginx-1-kv-redis', label: 'nginx → 1, GET /kv (redis)', group: 'store', via: 'nginx', instances: 1, keepalive: true, route: 'GET /kv/:key', store: 'redis', method: 'GET', path: KV_PATH, server: nginx('redis', 1) },
    { id: 'nginx-2-kv-redis', label: 'nginx → 2, GET /kv (redis)', group: 'store', via: 'nginx', instances: 2, keepalive: true, route: 'GET /kv/:key', store: 'redis', method: 'GET', path: KV_PATH, server: nginx('redis', 2) },
    { id: STACK_CELL, label: 'the stack: nginx → 4, GET /kv (redis)', group: 'store', via: 'nginx', instances: 4, keepalive: true, route: 'GET /kv/:key', store: 'redis', method: 'GET', path: KV_PATH, server: nginx('redis', 4), quick: true },
    { id: 'nginx-4-kv-memory', label: 'nginx → 4, GET /kv (memory)', group: 'store', via: 'nginx', instances: 4, keepalive: true, route: 'GET /kv/:key', store: 'memory', method: 'GET', path: KV_PATH, server: nginx('memory', 4) },
    { id: 'nginx-4-incr-redis', label: 'nginx → 4, POST /counters incr (redis)', group: 'store', via: 'nginx', instances: 4, keepalive: true, route: 'POST /counters/:name/incr', store: 'redis', method: 'POST', path: INCR_PATH, body: INCR_BODY, server: nginx('redis', 4) },
    { id: 'nginx-4-incr-memory', label: 'nginx → 4, POST /counters incr (memory)', group: 'store', via: 'nginx', instances: 4, keepalive: true, route: 'POST /counters/:name/incr', store: 'memory', method: 'POST', path: INCR_PATH, body: INCR_BODY, server: nginx('memory', 4) },
    { id: REPLICATED_INCR_CELL, label: 'nginx → 4, POST /counters incr (replicated redis)', group: 'store', via: 'nginx', instances: 4, keepalive: true, route: 'POST /counters/:name/incr', store: 'redis', method: 'POST', path: INCR_PATH, body: INCR_BODY, server: nginx('replicated', 4) },
    { id: DURABLE_INCR_CELL, label: 'nginx → 4, POST /counters incr (replicated redis, REDIS_DURABLE=1)', group: 'store', via: 'nginx', instances: 4, keepalive: true, route: 'POST /counters/:name/incr', store: 'redis', method: 'POST', path: INCR_PATH, body: INCR_BODY, server: nginx('durable', 4) },

    { id: 'nginx-1-work', label: `nginx → 1, GET /work?ms=${workMs} (CPU-bound)`, group: 'cpu', via: 'nginx', instances: 1, keepalive: true, route: `GET ${work}`, method: 'GET', path: work, server: nginx('redis', 1), quick: true },
    { id: 'nginx-2-work', label: `nginx → 2, GET /work?ms=${workMs} (CPU-bound)`, group: 'cpu', via: 'nginx', instances: 2, keepalive: true, route: `GET ${work}`, method: 'GET', path: work, server: nginx('redis', 2), quick: true },
    { id: 'nginx-4-work', label: `nginx → 4, GET /work?ms=${workMs} (CPU-bound)`, group: 'cpu', via: 'nginx', instances: 4, keepalive: true, route: `GET ${work}`, method: 'GET', path: work, server: nginx('redis', 4) }
  ]
  const hot = (id: string, label: string, server: CellServer, hotPath: CellSpec['hotPath'], keepalive = true): CellSpec =>
    ({ id, label, group: 'hot-path', via: 'nginx', instances: 4, keepalive, route: 'GET /kv/:key', store: 'redis', method: 'GET', path: KV_PATH, server, hotPath })
  // A target reads these two (what metrics and the rate limit cost): in the short matrix too.
  const costed = (cell: CellSpec): CellSpec => ({ ...cell, quick: true })
  cells.push(
    hot('hot-kv-log-info', 'the stack with LOG_LEVEL=info', nginx('log-info', 4),
      { choice: 'per-request logging', with: 'LOG_LEVEL=warn (no request lines built)', without: 'LOG_LEVEL=info' }),
    hot('hot-kv-access-log', 'the stack with the nginx access log on', nginx('redis', 4, { accessLog: true }),
      { choice: 'nginx access log', with: 'off (BENCH=1)', without: 'on, buffered 64k, flushed each second' }),
    hot('hot-kv-no-keepalive', 'the stack without upstream keepalive', nginx('redis', 4, { keepalive: false }),
      { choice: 'upstream keepalive', with: 'keepalive 256', without: 'a new connection per request' }, false),
    hot('hot-kv-no-pipelining', 'the stack without Redis auto-pipelining', nginx('no-pipelining', 4),
      { choice: 'Redis auto-pipelining', with: 'enableAutoPipelining: true', without: 'false' }),
    hot('hot-kv-no-schemas', 'the stack without response schemas', nginx('no-schemas', 4),
      { choice: 'response schemas', with: 'fast-json-stringify from the schemas', without: 'JSON.stringify (schemas stripped)' }),
    hot('hot-kv-parse', 'the stack parsing and re-serialising the stored value', nginx('parse-kv', 4),
      { choice: 'GET /kv\'s stored JSON', with: 'sent as stored (no parse)', without: 'JSON.parse, then the schema\'s serialiser' }),
    hot('hot-kv-nginx-1-worker', 'the stack with one nginx worker', nginx('redis', 4, { workerProcesses: 1 }),
      { choice: 'nginx worker_processes', with: 'auto (one per core: 2)', without: '1' }),
    hot('hot-kv-unix-socket', 'the stack with nginx → instances over unix sockets', nginx('unix-socket', 4),
      { choice: 'nginx → instances', with: 'TCP on loopback', without: 'unix sockets' }),
    costed(hot(NO_METRICS_CELL, 'the stack without metrics (METRICS=0)', nginx('no-metrics', 4),
      { choice: 'service metrics', with: 'METRICS=1 (the per-request hooks that feed GET /metrics)', without: 'METRICS=0' })),
    costed(hot(NO_RATE_LIMIT_CELL, 'the stack without the rate limit (RATE_LIMIT_MAX=0)', nginx('no-rate-limit', 4),
      { choice: 'cluster rate limit', with: 'the default limit, shared (leased from Redis)', without: 'RATE_LIMIT_MAX=0 (off)' }))
  )
  return cells
}

export class CellSelectionError extends Error {
  override name = 'CellSelectionError'
}

/**
 * The cells asked for: ids, or a group name (baseline, ceiling, direct, balanced,
 * store, cpu), or `hot-path`; `quick` for the short matrix; all cells when none.
 */
export function selectCells (ids: readonly string[] | undefined, quick: boolean, workMs = 5): CellSpec[] {
  const all = allCells(workMs)
  if (ids === undefined || ids.length === 0) return quick ? all.filter((c) => c.quick === true) : all
  const chosen = new Set<string>()
  for (const raw of ids) {
    const id = raw.trim()
    if (id === '') continue
    const matches = all.filter((c) => c.id === id || c.group === id || (id === 'hot-path' && c.hotPath !== undefined) || (id === 'quick' && c.quick === true))
    if (matches.length === 0) throw new CellSelectionError(`unknown cell "${id}"; known: ${all.map((c) => c.id).join(', ')} (or a group: baseline, ceiling, direct, balanced, store, cpu, hot-path, quick)`)
    for (const m of matches) chosen.add(m.id)
  }
  return all.filter((c) => chosen.has(c.id))
}

/** What a set of cells needs started: instances per pool, the nginx topologies, the seeds, the stores. */
export interface Needs {
  pools: Map<PoolId, number>
  topologies: Map<string, Topology>
  express: boolean
  clusterWorkers: number
  /** The fleet's one Redis. */
  redis: boolean
  /** The fleet's replicated Redis. */
  replicated: boolean
}

export function needsOf (cells: readonly CellSpec[]): Needs {
  const needs: Needs = { pools: new Map(), topologies: new Map(), express: false, clusterWorkers: 0, redis: false, replicated: false }
  const pool = (id: PoolId, count: number) => needs.pools.set(id, Math.max(needs.pools.get(id) ?? 0, count))
  for (const cell of cells) {
    const s = cell.server
    if (s.kind === 'express') needs.express = true
    else if (s.kind === 'cluster') needs.clusterWorkers = Math.max(needs.clusterWorkers, s.workers)
    else if (s.kind === 'direct') pool(s.pool, 1)
    else {
      needs.topologies.set(topologyId(s.topology), s.topology)
      if (s.topology.pool !== null) pool(s.topology.pool, s.topology.instances)
    }
  }
  // Every pool but memory keeps its data in Redis: the bench's one, or its replicated one.
  const redisPools = [...needs.pools.keys()].map((id) => POOLS[id]).filter((p) => p.store === 'redis')
  needs.redis = redisPools.some((p) => p.replicated !== true)
  needs.replicated = redisPools.some((p) => p.replicated === true)
  return needs
}
