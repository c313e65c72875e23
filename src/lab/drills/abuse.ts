import { setTimeout as sleep } from 'node:timers/promises'
import { newRunId } from '../run.js'
import type { AbusePhase, VerdictCheck } from '../results.js'
import { stackRedisPassword } from '../stack/parts/redis.js'
import { accessLogOffset, readAccessLogWhenFlushed } from '../stack/access-log.js'
import { accessLogFile } from '../stack/parts/nginx.js'
import { watchdogEvents, watchdogFiles } from '../stack/parts/watchdog.js'
import { restartsSince } from '../stack/pm2.js'
import { isReady } from '../stack/probe.js'
import { apiPortsOf } from '../stack/settings.js'
import type { RunningStack } from '../stack/running-stack.js'
import { stackPaths } from '../stack/state.js'
import { onInterrupt } from '../system/interrupt.js'
import { withRedis } from '../system/redis-client.js'
import { aofRewrites, floodKeys, unlinkAll, usedMemory } from './abuse-store.js'
import { ATTACK_BODIES, type FloodStats, type HalfOpenOptions } from './abuse-attacks.js'
import { ABUSE_BOUNDS, edgeTimes, floodRefusal, normalChecks, normalStats, p99Of, statusSummary, type AbuseBounds, type NormalAnswer } from './abuse-phases.js'
import { isLossOrDoublingRule } from './redis.js'
import type { Fault } from './run-drill.js'
import { floodIn, halfOpenIn, startAttacker, type Attacker, type FloodSpec } from './abuse-worker.js'

export interface AbuseOptions {
  /** How long each attack lasts. */
  phaseSeconds: number
  /** Connections with half a header the first attack holds at once. */
  halfOpen: number
  /** The edge's requests per second per client address during the drill (the lesson sets it on the stack). */
  clientRate: number
  /** ...and its burst. */
  clientBurst: number
  /** The edge's GET /work in flight per client address during the drill (0: the fleet's bound only). */
  clientWork: number
  /** Room the write flood gets in Redis above what Redis holds when it starts (bytes). */
  headroomBytes: number
  bounds?: Partial<AbuseBounds>
}

/** The load runs this long before the first attack: the baseline row. */
const BASELINE_MS = 2000
/** After each attack, judged with it: what it left behind (queues, closed connections). */
const AFTERMATH_MS = 500
/** The request flood, at this many times the edge's limit. */
const FLOOD_FACTOR = 10
/** Room above the bound a write may take: Redis checks the bound before each write, so the one that crosses it lands. */
const ONE_WRITE_BYTES = 192 * 1024
const ATTACKER = '127.0.0.2'
/** The request flood's connections, each waiting for its answer: 64 reached 2,000 req/s at load 5, 512 did worse than 64 at load 12. */
const FLOOD_SOCKETS = 64

/** What one attack did, besides the window the normal clients are judged in. */
interface Outcome {
  from: string
  attack: string
  attacker: FloodStats | null
  detail: string
  checks: VerdictCheck[]
  /** A full Redis refuses everyone's writes: the normal clients' 503 writes are counted apart. */
  fullStore?: boolean
}

interface Attack {
  phase: AbusePhase['phase']
  run: (durationMs: number) => Promise<Outcome>
}

/**
 * One client against the stack, attack after attack, while the normal clients on
 * 127.0.0.1 run the drills' mixed load: half-sent headers, a request flood at 10×
 * the edge's per-client limit, a write flood against Redis's bound, bodies of
 * many small objects from a few hundred connections, and the CPU route at 48 at
 * once. Each attack is judged by what the normal clients saw during it, and by
 * its own figures (refusals, memory, answers); no instance may restart.
 */
export function abuseFault (stack: RunningStack, options: AbuseOptions): Fault {
  const bounds = { ...ABUSE_BOUNDS, ...options.bounds }
  const url = stack.base
  const runId = newRunId()
  const durationMs = options.phaseSeconds * 1000
  const normal: NormalAnswer[] = []
  const phases: AbusePhase[] = []
  const phaseChecks: VerdictCheck[] = []
  let restartsDuring: () => Promise<Record<string, number>>
  let restarts: Record<string, number> = {}
  let attacker: Attacker | null = null
  let watchdogOffset = 0
  let accessLogStart = 0
  /** The flood's 429s as nginx timed them ($request_time), read from its log once the drill is over. */
  const edgeRow: VerdictCheck = { name: 'request-flood: 429s in nginx\'s own time (p99, its $request_time)', expected: 'shown', actual: 'not read', pass: true, informational: true }
  const floodPath = `/kv/abuse:${runId}:flood`
  /** The audit reads back on an instance that answers (an attack may have cost one its process). */
  let auditUrl = stack.base

  const floodOf = (spec: FloodSpec) => floodIn(attacker!, spec)
  const halfOpenOf = (spec: HalfOpenOptions) => halfOpenIn(attacker!, spec)

  const attacks: Attack[] = [
    {
      phase: 'half-open',
      run: async (ms) => {
        const held = await halfOpenOf({ url, from: ATTACKER, sockets: options.halfOpen, durationMs: ms })
        const closed = held.closedByServerAfterMs
        return {
          from: ATTACKER,
          attack: `${options.halfOpen} connections each sending half a request header, renewed when closed`,
          attacker: null,
          detail: `${held.peakHeld} held at once, ${held.opened} opened, ${closed.length} closed by nginx` +
            `${closed.length > 0 ? ` (first after ${(Math.min(...closed) / 1000).toFixed(1)} s)` : ''}, ${held.connectErrors} connects failed`,
          checks: [{ name: 'half-open: connections held at once', expected: `${options.halfOpen}`, actual: String(held.peakHeld), pass: true, informational: true }]
        }
      }
    },
    { phase: 'request-flood', run: requestFlood },
    { phase: 'write-flood', run: writeFlood },
    {
      phase: 'small-objects',
      run: async (ms) => {
        // From a few hundred addresses, one connection each: every body reaches an instance (no address is near its limit).
        const { stats } = await floodOf({ url, concurrency: 300, rate: 2 * options.clientRate, durationMs: ms, from: 'many', method: 'POST', path: `/kv/abuse:${runId}:objects`, body: 'smallObjects64k' })
        const unanswered = Object.entries(stats.byStatus).filter(([status]) => status === '0' || status.startsWith('5')).reduce((a, [, n]) => a + n, 0)
        return {
          from: '300 addresses (127.0.1.1 …)',
          attack: `POST /kv of ${ATTACK_BODIES.smallObjects64k.length.toLocaleString('en-US')} bytes of empty objects, 300 connections, ${2 * options.clientRate} req/s`,
          attacker: stats,
          detail: `answers: ${statusSummary(stats.byStatus)}`,
          checks: [{ name: 'small-objects: every body refused (4xx), none 5xx or unanswered', expected: '0 5xx/unanswered', actual: `${unanswered} of ${stats.sent}`, pass: stats.sent > 0 && unanswered === 0 }]
        }
      }
    },
    {
      phase: 'cpu-route',
      run: async (ms) => {
        const from = '127.0.0.4'
        // Paced like the request flood: refused at once (nginx sheds /work past its bound), 48
        // unpaced loops sent ~8,700 req/s of 429s, the request flood again, not the CPU work.
        const rate = FLOOD_FACTOR * options.clientRate
        const { stats } = await floodOf({ url, concurrency: 48, rate, durationMs: ms, from, method: 'GET', path: '/work?ms=999' })
        return {
          from,
          attack: `48 concurrent GET /work?ms=999, each sent again once answered, at most ${rate} req/s${options.clientWork > 0 ? ` (the edge runs ${options.clientWork} at once per client)` : ''}`,
          attacker: stats,
          detail: `answers: ${statusSummary(stats.byStatus)}`,
          checks: []
        }
      }
    }
  ]

  async function requestFlood (ms: number): Promise<Outcome> {
    const rate = FLOOD_FACTOR * options.clientRate
    const { stats } = await floodOf({ url, concurrency: FLOOD_SOCKETS, rate, durationMs: ms, from: ATTACKER, method: 'GET', path: floodPath })
    const refused = stats.byStatus['429'] ?? 0
    const seconds = stats.durationMs / 1000
    const { allowance, excess, refusedPercent } = floodRefusal({ sent: stats.sent, refused, seconds }, { rate: options.clientRate, burst: options.clientBurst })
    const refusalP99 = p99Of(stats.latenciesMs['429'])
    return {
      from: ATTACKER,
      attack: `GET /kv at ${rate} req/s, ${FLOOD_FACTOR}× the edge's ${options.clientRate} req/s (burst ${options.clientBurst})`,
      attacker: stats,
      detail: `sent ${(stats.sent / seconds).toFixed(0)} req/s; allowance ${allowance}, beyond it ${excess}, refused 429 ${refused}`,
      checks: [
        { name: 'request-flood: refused with 429, of its requests beyond the edge\'s allowance (rate × s + burst)', expected: `≥ ${bounds.floodRefusedPercent} %`, actual: `${refusedPercent} % (${refused} of ${excess})`, pass: excess > 0 && refusedPercent >= bounds.floodRefusedPercent },
        { name: 'request-flood: 429s answered in (p99, from the request\'s write to its answer\'s bytes, on the attacker\'s connection)', expected: `≤ ${bounds.refusalP99Ms} ms`, actual: refusalP99 === null ? 'no 429' : `${refusalP99} ms`, pass: refusalP99 !== null && refusalP99 <= bounds.refusalP99Ms },
        edgeRow,
        { name: 'request-flood: rate reached', expected: `${rate} req/s`, actual: `${(stats.sent / seconds).toFixed(0)} req/s (${refused} of ${stats.sent} refused: ${(100 * refused / Math.max(1, stats.sent)).toFixed(1)} %)`, pass: true, informational: true }
      ]
    }
  }

  async function writeFlood (ms: number): Promise<Outcome> {
    const from = '127.0.0.3'
    const password = stackRedisPassword(stack.settings)
    const port = stack.settings.redisPort
    return withRedis(port, async (redis) => {
      const original = ((await redis.config('GET', 'maxmemory')) as string[])[1] ?? '0'
      const bound = (await usedMemory(redis)) + options.headroomBytes
      const restore = () => withRedis(port, (r) => r.config('SET', 'maxmemory', original), 2000, password)
      const unregister = onInterrupt(async () => { await restore() })
      await redis.config('SET', 'maxmemory', String(bound))
      const rewritesBefore = await aofRewrites(redis)
      let peak = 0
      const sampling = { on: true }
      const sampler = (async () => {
        while (sampling.on) {
          peak = Math.max(peak, await usedMemory(redis))
          await sleep(25)
        }
      })()
      try {
        // Below the edge's limit: every write reaches the service, and Redis.
        const rate = Math.max(1, Math.floor(0.75 * options.clientRate))
        const { stats, acknowledged } = await floodOf({ url, concurrency: 16, rate, durationMs: ms, from, method: 'POST', path: `/kv/abuse:${runId}:w{i}`, body: 'value64k' })
        sampling.on = false
        await sampler
        peak = Math.max(peak, await usedMemory(redis))
        const rewrites = (await aofRewrites(redis)) - rewritesBefore
        const kept = await floodKeys(redis, `*abuse:${runId}:w*`)
        const lost = acknowledged.filter((i) => !kept.has(`abuse:${runId}:w${i}`)).length
        const refusalP99 = p99Of(stats.latenciesMs['503'])
        const full = stats.byStatus['503'] ?? 0
        await unlinkAll(redis, kept.keys)
        return {
          from,
          attack: `POST /kv of 64 KiB values at ${rate} req/s against a bound ${(options.headroomBytes / 2 ** 20).toFixed(0)} MiB above what Redis held`,
          attacker: stats,
          detail: `maxmemory ${(bound / 2 ** 20).toFixed(1)} MiB, peak used_memory ${(peak / 2 ** 20).toFixed(1)} MiB; ${acknowledged.length} writes acknowledged, then ${full} refused 503; AOF rewrites started during it: ${rewrites}`,
          fullStore: true,
          checks: [
            { name: 'write-flood: Redis\'s used_memory never past maxmemory', expected: `≤ maxmemory + one write (${ONE_WRITE_BYTES / 1024} KiB)`, actual: `peak ${peak - bound >= 0 ? '+' : '−'}${(Math.abs(peak - bound) / 1024).toFixed(0)} KiB of ${(bound / 2 ** 20).toFixed(1)} MiB`, pass: peak <= bound + ONE_WRITE_BYTES },
            { name: 'write-flood: writes past the bound refused 503, fast (p99)', expected: `≤ ${bounds.fullStoreP99Ms} ms`, actual: refusalP99 === null ? 'no 503: the bound was never met' : `${refusalP99} ms over ${full}`, pass: refusalP99 !== null && refusalP99 <= bounds.fullStoreP99Ms },
            { name: 'write-flood: its acknowledged writes all in Redis', expected: '0 lost', actual: `${lost} lost of ${acknowledged.length}`, pass: lost === 0 }
          ]
        }
      } finally {
        sampling.on = false
        await redis.config('SET', 'maxmemory', original)
        unregister()
      }
    }, 5000, password)
  }

  return {
    drill: 'abuse',
    label: `drill abuse: 5 attacks of ${options.phaseSeconds}s under the normal load`,
    ownRequests: true,
    // Each attack may overrun by the second its last requests are given (abuse-attacks.ts).
    durationSeconds: (BASELINE_MS + attacks.length * (durationMs + AFTERMATH_MS + 1500)) / 1000 + 5,
    endAfterTimelineSeconds: 0.2,
    // Read back and replayed on an instance: the edge's low limit would refuse the audit's pace.
    get auditUrl () { return auditUrl },
    options: { phase: `${options.phaseSeconds}s`, halfOpen: options.halfOpen, clientRate: options.clientRate, clientBurst: options.clientBurst, clientWork: options.clientWork, headroom: `${(options.headroomBytes / 2 ** 20).toFixed(0)}MiB` },
    prepare: async () => {
      if (stack.settings.redisMode !== 'single') throw new Error('drill abuse bounds the single Redis: run it with REDIS_MODE=single')
      restartsDuring = await restartsSince(stackPaths(stack.settings.dir).pm2Home)
      watchdogOffset = accessLogOffset(watchdogFiles(stack.settings).events)
      accessLogStart = accessLogOffset(accessLogFile(stack.settings))
      attacker = await startAttacker()
    },
    timeline: async ({ now, mark, io }) => {
      await sleep(Math.max(0, BASELINE_MS - now()))
      phases.push(phaseRow('baseline', { from: '', attack: 'none: the normal clients alone', attacker: null, detail: '', checks: [] }, 0, now()))
      try {
        for (const attack of attacks) {
          const startMs = now()
          mark('attack', attack.phase)
          io.say(`  ${attack.phase} at ${(startMs / 1000).toFixed(1)} s`)
          const outcome = await attack.run(durationMs)
          mark('attack-end', attack.phase, outcome.detail)
          await sleep(AFTERMATH_MS)
          phases.push(phaseRow(attack.phase, outcome, startMs, now()))
          phaseChecks.push(...normalChecks(attack.phase, phases.at(-1)!.normal, bounds), ...outcome.checks)
        }
      } finally {
        await attacker?.stop()
      }
      for (const port of apiPortsOf(stack.settings)) {
        if (await isReady(port)) {
          auditUrl = `http://127.0.0.1:${port}`
          break
        }
      }
    },
    observe: (answer) => {
      normal.push({ sentAtMs: answer.atMs - answer.latencyMs, operation: answer.operation, status: answer.status, latencyMs: answer.latencyMs })
    },
    judge: async () => {
      restarts = await restartsDuring()
      edgeRow.actual = !stack.settings.accessLog ? 'access log off (BENCH=1)' : edgeTimes(await readAccessLogWhenFlushed(accessLogFile(stack.settings), accessLogStart, Date.now()), floodPath, 429)
      const total = Object.values(restarts).reduce((a, b) => a + b, 0)
      const killed = watchdogEvents(stack.settings, watchdogOffset).filter((e) => e.event === 'kill').map((e) => `${e.target} at ${new Date(e.at).toISOString().slice(11, 19)}`)
      const which = Object.entries(restarts).filter(([, n]) => n > 0).map(([name, n]) => `${name} × ${n}`)
      return [
        ...phaseChecks,
        { name: 'no instance restarted (PM2)', expected: '0', actual: `${total}${which.length > 0 ? ` (${which.join(', ')})` : ''}${killed.length > 0 ? `; the watchdog killed ${killed.join(', ')}` : ''}`, pass: total === 0 }
      ]
    },
    // A full Redis refuses the normal clients' writes too (failed, not lost): only loss and doubling decide.
    auditInformational: (rule) => !isLossOrDoublingRule(rule),
    details: () => ({ restarts, phases })
  }

  function phaseRow (phase: string, outcome: Outcome, startMs: number, endMs: number): AbusePhase {
    const stats = outcome.attacker
    return {
      phase,
      attack: outcome.attack,
      from: outcome.from,
      startSeconds: Math.round(startMs) / 1000,
      endSeconds: Math.round(endMs) / 1000,
      normal: normalStats(normal, startMs, endMs, outcome.fullStore),
      attacker: {
        requests: stats?.sent ?? 0,
        byStatus: stats?.byStatus ?? {},
        p99Ms: p99Of(Object.values(stats?.latenciesMs ?? {}).flat())
      },
      detail: outcome.detail
    }
  }
}
