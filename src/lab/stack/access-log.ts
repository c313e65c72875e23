/**
 * nginx's view of a run: the stack's access log (the `scale_lab` format in
 * nginx/scale-lab.conf.template), read from where it ended before the run. Each
 * line says which instances a request was tried on, how each try ended and how
 * long it took, and when the request ended: what no client can see (a try that
 * timed out on a frozen instance and was answered by another, how many tries a
 * shed request cost).
 */
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'

/** One try of one request on one instance. */
export interface UpstreamTry {
  /** host:port, or the upstream's name when nginx found no live instance. */
  address: string
  /** The instance's status, 502 for a failed connection or a connection closed without an answer, 504 for a read timeout. */
  status: number | null
  /** Milliseconds the try took, or null. */
  ms: number | null
}

export interface AccessLine {
  method: string
  /** Path and query. */
  path: string
  /** The status the client got. */
  status: number
  /** When nginx received the request and when it finished, epoch milliseconds. */
  startedAtMs: number
  endedAtMs: number
  /** Every try, in order (none when nginx answered by itself). */
  tries: UpstreamTry[]
}

/** The log is buffered (flush=1s in the template): this long after the last request, every line is on disk. */
export const ACCESS_LOG_FLUSH_MS = 1500

const LINE = /^\S+ \[[^\]]*\] "(\S+) (\S+)[^"]*" (\d{3}) \d+ ([\d.]+) rid=\S* ik=.*? upstream=(.*) ustatus=(.*) utime=(.*) t=([\d.]+)$/

/** nginx's "a, b : c" lists (a retry adds ", ", an internal redirect " : "), as their items. */
function items (list: string): string[] {
  return list === '-' ? [] : list.split(/, | : /).map((s) => s.trim())
}

/** One line of the `scale_lab` format, or null for anything else (an older format, a torn line). */
export function parseAccessLine (line: string): AccessLine | null {
  const m = LINE.exec(line.trim())
  if (m === null) return null
  const [, method, path, status, requestTime, upstreams, statuses, times, msec] = m as unknown as string[]
  const endedAtMs = Number(msec) * 1000
  const codes = items(statuses!)
  const durations = items(times!)
  return {
    method: method!,
    path: path!,
    status: Number(status),
    startedAtMs: endedAtMs - Number(requestTime) * 1000,
    endedAtMs,
    tries: items(upstreams!).map((address, i) => {
      const code = Number(codes[i])
      const seconds = Number(durations[i])
      return { address, status: Number.isInteger(code) ? code : null, ms: Number.isFinite(seconds) && durations[i] !== '-' ? seconds * 1000 : null }
    })
  }
}

/** The log's size now: what a later read starts from (0 when there is no log yet). */
export function accessLogOffset (file: string): number {
  return existsSync(file) ? statSync(file).size : 0
}

/** Every line written after `offset`, parsed; lines of another format are skipped. */
export function readAccessLog (file: string, offset: number): AccessLine[] {
  if (!existsSync(file)) return []
  const size = statSync(file).size
  // Rotated or truncated since: the whole file is new.
  const from = size < offset ? 0 : offset
  const buffer = Buffer.alloc(size - from)
  const fd = openSync(file, 'r')
  try {
    readSync(fd, buffer, 0, buffer.length, from)
  } finally {
    closeSync(fd)
  }
  return buffer.toString('utf8').split('\n').map(parseAccessLine).filter((line): line is AccessLine => line !== null)
}

/** readAccessLog once nginx has flushed what the run sent (its buffer is written at least every second). */
export async function readAccessLogWhenFlushed (file: string, offset: number, lastRequestAtMs: number): Promise<AccessLine[]> {
  await sleep(Math.max(0, lastRequestAtMs + ACCESS_LOG_FLUSH_MS - Date.now()))
  return readAccessLog(file, offset)
}
