/**
 * What nginx's access log says about a frozen instance: when nginx first gave up
 * on it (the detection), and which requests paid for it — each try on that
 * instance that ended without an answer (a read timeout, 504 in the log, or a
 * closed connection, 502) before the request went on to another instance.
 */
import type { AccessLine } from '../stack/access-log.js'

export interface FrozenTries {
  /** Epoch ms at which nginx's first try on the frozen instance failed, or null if none did. */
  detectedAtMs: number | null
  /** Every request with a failed try on it, by the epoch ms it reached nginx. */
  paidAtMs: number[]
  /** Those that reached nginx after the first detection: nginx trying the instance again. */
  afterDetectionAtMs: number[]
}

/** A try that got no answer: nginx logs 504 for a read timeout, 502 for a connection that failed or closed. */
function failed (status: number | null): boolean {
  return status === null || status === 502 || status === 504
}

/**
 * The tries on `address` that failed from `fromMs` on (the freeze, epoch ms), among the
 * requests that reached nginx until `untilMs`. A request already on the instance when it
 * froze counts: it paid, and its timeout is nginx's first word on the instance. Counting
 * only requests sent after the freeze missed it, and with it the real detection: nginx
 * took the instance out on that timeout, so the first counted one came only after the
 * fail_timeout (CI read 3.6-4.0 s where nginx had given up after ~1 s).
 */
export function frozenTries (lines: readonly AccessLine[], address: string, fromMs: number, untilMs: number): FrozenTries {
  const paid: Array<{ startedAtMs: number, failedAtMs: number }> = []
  for (const line of lines) {
    if (line.startedAtMs > untilMs) continue
    let elapsed = 0
    for (const attempt of line.tries) {
      elapsed += attempt.ms ?? 0
      if (attempt.address === address && failed(attempt.status)) {
        if (line.startedAtMs + elapsed >= fromMs) paid.push({ startedAtMs: line.startedAtMs, failedAtMs: line.startedAtMs + elapsed })
        break
      }
    }
  }
  const detectedAtMs = paid.length === 0 ? null : Math.min(...paid.map((p) => p.failedAtMs))
  return {
    detectedAtMs,
    paidAtMs: paid.map((p) => p.startedAtMs).sort((a, b) => a - b),
    afterDetectionAtMs: detectedAtMs === null ? [] : paid.filter((p) => p.startedAtMs > detectedAtMs).map((p) => p.startedAtMs).sort((a, b) => a - b)
  }
}

/** The shortest gap between consecutive times (ms), or null with fewer than two. */
export function shortestGap (sortedMs: readonly number[]): number | null {
  let shortest: number | null = null
  for (let i = 1; i < sortedMs.length; i++) {
    const gap = sortedMs[i]! - sortedMs[i - 1]!
    if (shortest === null || gap < shortest) shortest = gap
  }
  return shortest
}
