import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { LoadSummary } from '../results.js'
import { round } from '../stats.js'
import { requireBinary } from '../system/binaries.js'
import { localTarget } from './local-target.js'

/**
 * wrk (4.1, as Debian ships it) as a load generator: a C event loop that reached
 * 110–136k req/s against nginx here where autocannon topped out at 41–61k, taking
 * a core from what it measures. It runs as a child
 * process; a Lua script sets the method and body and, in `done()`, prints the
 * summary as one JSON line, which is parsed into a LoadSummary.
 */
export interface WrkOptions {
  label: string
  /** Full URL, always 127.0.0.1 (e.g. http://127.0.0.1:8080/kv/bench). */
  url: string
  connections: number
  durationSeconds: number
  method?: 'GET' | 'POST'
  body?: string
  headers?: Record<string, string>
  /**
   * Paced instead of flat out: each connection waits a random think time
   * (exponential, mean connections / paceRps) before each request, so requests
   * arrive about paceRps a second, independently, like an open model's — close to
   * one as long as the think time is far above the latency. Debian's wrk has no
   * rate option (that is wrk2); its Lua delay() hook is what it has.
   */
  paceRps?: number
  /** Aborting kills wrk (SIGTERM). */
  signal?: AbortSignal
}

export interface WrkRun {
  summary: LoadSummary
  /** wrk's PID while it ran (its CPU time lands in this process's reaped-children time). */
  pid: number
}

/** The line the script's done() prints, before its JSON. */
export const WRK_MARKER = 'SCALE_LAB_WRK '

/** What done() prints, in JSON. */
export interface WrkReport {
  requests: number
  durationUs: number
  bytes: number
  errors: { connect: number, read: number, write: number, status: number, timeout: number }
  latencyMs: { p50: number, p90: number, p99: number, max: number, mean: number }
}

/** A Lua long string whose level does not occur in the text. */
function luaLongString (text: string): string {
  let level = ''
  while (text.includes(`]${level}]`)) level += '='
  return `[${level}[${text}]${level}]`
}

/** The Lua script for one run: the request to send, and a done() that prints JSON (latencies in ms). */
export function wrkScript (options: Pick<WrkOptions, 'method' | 'body' | 'headers'> & Partial<Pick<WrkOptions, 'paceRps' | 'connections'>>): string {
  const lines = [`wrk.method = "${options.method ?? 'GET'}"`]
  if (options.paceRps !== undefined) {
    const meanMs = ((options.connections ?? 1) * 1000) / options.paceRps
    lines.push(
      `local mean_ms = ${meanMs.toFixed(3)}`,
      'math.randomseed(os.time())',
      '-- Exponential think time: requests from many connections then arrive as a Poisson stream.',
      'delay = function() return math.floor(-math.log(1 - math.random()) * mean_ms + 0.5) end'
    )
  }
  if (options.body !== undefined) lines.push(`wrk.body = ${luaLongString(options.body)}`)
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    lines.push(`wrk.headers[ ${luaLongString(name)} ] = ${luaLongString(value)}`)
  }
  lines.push(
    'done = function(summary, latency, requests)',
    '  local e = summary.errors',
    `  io.write(string.format('${WRK_MARKER}{"requests":%d,"durationUs":%d,"bytes":%d,' ..`,
    '    \'"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},\' ..',
    '    \'"latencyMs":{"p50":%.3f,"p90":%.3f,"p99":%.3f,"max":%.3f,"mean":%.3f}}\\n\',',
    '    summary.requests, summary.duration, summary.bytes,',
    '    e.connect, e.read, e.write, e.status, e.timeout,',
    '    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,',
    '    latency.max / 1000, latency.mean / 1000))',
    'end',
    ''
  )
  return lines.join('\n')
}

/** Finds the script's JSON line in wrk's output. */
export function parseWrkReport (stdout: string): WrkReport {
  const line = stdout.split('\n').find((l) => l.startsWith(WRK_MARKER))
  if (line === undefined) throw new Error(`wrk printed no summary: ${stdout.trim().split('\n').slice(-3).join(' | ') || '(nothing)'}`)
  return JSON.parse(line.slice(WRK_MARKER.length)) as WrkReport
}

/** A wrk report in the lab's terms. */
export function toLoadSummary (report: WrkReport, meta: { label: string, url: string, connections: number }): LoadSummary {
  const seconds = report.durationUs / 1e6
  const byKind: Record<string, number> = {}
  const kinds: Array<[string, number]> = [
    // wrk counts answers with a status above 399 without saying which.
    ['non2xx:4xx-5xx', report.errors.status],
    ['socket:connect', report.errors.connect],
    ['socket:read', report.errors.read],
    ['socket:write', report.errors.write],
    ['timeout', report.errors.timeout]
  ]
  for (const [kind, count] of kinds) if (count > 0) byKind[kind] = count
  const r3 = (v: number) => round(v, 3)
  return {
    label: meta.label,
    engine: 'wrk',
    target: meta.url,
    connections: meta.connections,
    durationSeconds: round(seconds, 2),
    requests: report.requests,
    rps: seconds > 0 ? round(report.requests / seconds, 1) : 0,
    latencyMs: {
      p50: r3(report.latencyMs.p50),
      p90: r3(report.latencyMs.p90),
      p99: r3(report.latencyMs.p99),
      max: r3(report.latencyMs.max),
      mean: r3(report.latencyMs.mean)
    },
    errors: { total: Object.values(byKind).reduce((a, b) => a + b, 0), byKind }
  }
}

/** wrk threads: one core for the load generator on a 2-core machine. */
const THREADS = 1
/** Per-request timeout, like runAutocannon's. */
const TIMEOUT_SECONDS = 10

/** `wrk -t1 -c<N> -d<s>s --latency --timeout <s>s -s <script> <url>`, bounded by its duration. */
export async function runWrk (options: WrkOptions): Promise<WrkRun> {
  localTarget(options.url)
  const dir = mkdtempSync(join(tmpdir(), 'sl-wrk-'))
  const script = join(dir, 'bench.lua')
  writeFileSync(script, wrkScript(options))
  const args = [
    `-t${THREADS}`, `-c${options.connections}`, `-d${options.durationSeconds}s`,
    '--latency', '--timeout', `${TIMEOUT_SECONDS}s`, '-s', script, options.url
  ]
  try {
    const child = spawn(requireBinary('wrk'), args, { stdio: ['ignore', 'pipe', 'pipe'], signal: options.signal, killSignal: 'SIGTERM' })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject)
      child.once('close', (exitCode) => resolve(exitCode))
    })
    if (code !== 0) throw new Error(`wrk exited with ${code}: ${(stderr || stdout).trim().split('\n').slice(-3).join(' | ')}`)
    const summary = toLoadSummary(parseWrkReport(stdout), { label: options.label, url: options.url, connections: options.connections })
    return { summary: options.paceRps !== undefined ? { ...summary, targetRps: options.paceRps } : summary, pid: child.pid ?? -1 }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
