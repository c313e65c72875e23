/**
 * `scale-lab drill overload`: one route's capacity, measured in the same run with
 * a closed-model load (a fixed number of clients, each sending its next request
 * when the last is answered: it cannot overload anything), then arrival rates at
 * multiples of it, open-model (requests on a schedule, as independent users send
 * them, whatever the answers), each client waiting at most its timeout. Past
 * capacity a stack either queues (everyone waits, clients give up, the work done
 * for them is wasted) or sheds (most are served, the rest are told at once);
 * nginx's access log says how many tries each request cost behind the balancer.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { LessonIo } from '../lessons/lesson.js'
import { runAutocannon } from '../load/autocannon.js'
import { runOpenModel } from '../load/open-model.js'
import { progressPrinter } from '../load/progress.js'
import type { OverloadLevel, OverloadResult, RunMeta } from '../results.js'
import { accessLogOffset, readAccessLogWhenFlushed } from '../stack/access-log.js'
import { accessLogFile } from '../stack/parts/nginx.js'
import type { RunningStack } from '../stack/running-stack.js'
import type { StackSettings } from '../stack/settings.js'
import { verdictOf } from '../verdict.js'
import { errorCode, levelSummary, nginxShedP99Ms, OVERLOAD_BOUNDS, overloadChecks, triesPerRequest, type LevelAnswer, type LevelSpec, type OverloadBounds } from './overload-levels.js'

/** What the result records of the run's options (the shedding policy is the stack's), and how long the capacity is measured, and the verdict's bounds. */
export interface OverloadOptions extends Pick<OverloadResult['options'], 'path' | 'levels' | 'levelSeconds' | 'timeoutMs'> {
  capacitySeconds: number
  bounds?: Partial<OverloadBounds>
}

/**
 * The capacity run's clients: as many as the instances run at once (INSTANCES ×
 * WORK_CONCURRENCY, nginx's bound), so the CPU is always busy and nothing is shed:
 * more would be refused at the edge at once and sent again, a loop of 503s on the
 * same two cores.
 */
function capacityConnections (settings: StackSettings): number {
  return settings.instances * settings.workConcurrency
}
/**
 * Unmeasured 1 s rounds before the capacity run, until two in a row agree within
 * WARM_WITHIN (at most WARMUP_ROUNDS). Just after a stack started, the first
 * seconds served half of what later ones did (51 then 104 req/s at 16 connections,
 * load average 15), and a fixed 2 s was not always enough.
 */
const WARMUP_ROUNDS = 8
const WARM_WITHIN = 0.15
/** Unmeasured seconds at the start of each level (sockets open). */
const LEVEL_WARMUP_SECONDS = 0.5
/** Between levels: what the last one queued drains before the next starts. */
const LEVEL_GAP_MS = 500
/** The load's sockets stay under nginx's connections per client (limit_conn, answered 429), which would otherwise pass for shedding. */
const SOCKETS_UNDER_EDGE_LIMIT = 24
const MAX_SOCKETS = 4096

/** Closed-model rounds of 1 s until two in a row agree: the 2xx per second of each. */
async function warmUp (base: string, connections: number, requests: Array<{ method: 'GET', path: string }>): Promise<number[]> {
  const rounds: number[] = []
  for (let i = 0; i < WARMUP_ROUNDS; i++) {
    const { summary } = await runAutocannon({ label: 'warm-up', url: base, connections, durationSeconds: 1, requests })
    rounds.push(Math.round((summary.requests - summary.errors.total) / summary.durationSeconds))
    const [previous, last] = rounds.slice(-2)
    if (rounds.length >= 2 && Math.abs(last! - previous!) <= WARM_WITHIN * Math.max(last!, previous!)) break
  }
  return rounds
}

/** Measures the capacity of `options.path` through `stack`, then offers each level; the verdict is at the highest. */
export async function runOverload (stack: RunningStack, options: OverloadOptions, meta: RunMeta, io: LessonIo): Promise<OverloadResult> {
  const { path, timeoutMs } = options
  const request = [{ method: 'GET' as const, path }]
  const connections = capacityConnections(stack.settings)
  io.say(`Capacity of GET ${path}: closed model, ${connections} connections, ${options.capacitySeconds} s, once 1 s rounds agree within ${WARM_WITHIN * 100} %`)
  const rounds = await warmUp(stack.base, connections, request)
  io.say(`  warm-up rounds: ${rounds.join(', ')} req/s`)
  const { summary: capacityLoad } = await runAutocannon({
    label: `capacity: GET ${path}, ${connections} connections (closed model)`,
    url: stack.base,
    connections,
    durationSeconds: options.capacitySeconds,
    requests: request,
    onTick: progressPrinter(io.say)
  })
  const capacityRps = Math.round((capacityLoad.requests - capacityLoad.errors.total) / capacityLoad.durationSeconds)
  io.say(`  capacity: ${capacityRps} req/s answered 2xx (p99 ${capacityLoad.latencyMs.p99} ms, ${capacityLoad.errors.total} errors)`)
  if (capacityRps < 1) throw new Error(`GET ${path} answered no 2xx in ${options.capacitySeconds} s: no capacity to offer multiples of`)

  const logFile = accessLogFile(stack.settings)
  const logOffset = accessLogOffset(logFile)
  const edge = stack.settings.clientConnections
  const socketCap = edge > 0 ? Math.max(16, edge - SOCKETS_UNDER_EDGE_LIMIT) : MAX_SOCKETS
  const windows: Array<{ fromMs: number, untilMs: number }> = []
  const measured: Array<{ spec: LevelSpec, answers: LevelAnswer[] }> = []
  for (const multiple of options.levels) {
    const rate = Math.max(1, Math.round(multiple * capacityRps))
    io.say(`${multiple}× capacity: ${rate} req/s for ${options.levelSeconds} s, clients wait ${timeoutMs} ms at most`)
    const answers: LevelAnswer[] = []
    const fromMs = Date.now() + LEVEL_WARMUP_SECONDS * 1000
    await runOpenModel({
      label: `GET ${path} at ${multiple}×`,
      url: `${stack.base}${path}`,
      rate,
      durationSeconds: options.levelSeconds,
      warmupSeconds: LEVEL_WARMUP_SECONDS,
      timeoutMs,
      // A socket per request in flight, up to the client's whole patience at this rate.
      sockets: Math.min(socketCap, Math.ceil(rate * timeoutMs / 1000) + 16),
      onAnswer: (_, answer) => {
        answers.push({
          status: answer.status,
          latencyMs: answer.latencyMs,
          ...(answer.status >= 400 ? { code: errorCode(answer.body) } : {}),
          ...(answer.error !== undefined ? { error: answer.error } : {})
        })
      },
      onTick: progressPrinter(io.say)
    })
    windows.push({ fromMs, untilMs: Date.now() })
    // The runner's own count of the measured schedule.
    measured.push({ spec: { multiple, offeredRps: rate, durationSeconds: options.levelSeconds, offered: Math.max(1, Math.round(rate * options.levelSeconds)), timeoutMs }, answers })
    await sleep(LEVEL_GAP_MS)
  }

  const lines = await readAccessLogWhenFlushed(logFile, logOffset, windows[windows.length - 1]?.untilMs ?? Date.now())
  const route = path.split('?')[0]!
  const levels: OverloadLevel[] = measured.map(({ spec, answers }, i) => {
    const { fromMs, untilMs } = windows[i]!
    const level = levelSummary(spec, answers, triesPerRequest(lines, route, fromMs, untilMs), nginxShedP99Ms(lines, route, fromMs, untilMs))
    io.say(`  ${level.multiple}×: offered ${level.offeredRps} req/s → served ${level.goodputRps}, shed ${level.shedRps}, failed ${level.failedRps} req/s; ` +
      `p99 served ${level.answeredMs?.p99 ?? '–'} ms, shed ${level.shedP99Ms ?? '–'} ms (nginx: ${level.nginxShedP99Ms ?? '–'} ms); ${level.triesPerRequest ?? '–'} tries/request`)
    return level
  })
  return {
    kind: 'overload',
    meta: { ...meta, endedAt: new Date().toISOString() },
    options: { path, levels: options.levels, levelSeconds: options.levelSeconds, timeoutMs, shed: stack.settings.workShed, retryShed: stack.settings.retryShed },
    capacity: { load: capacityLoad, goodputRps: capacityRps },
    levels,
    verdict: verdictOf(overloadChecks(capacityRps, levels, { ...OVERLOAD_BOUNDS, ...options.bounds }))
  }
}
