/**
 * What a client can know about a mutation it sent, from what came back.
 *
 * - acknowledged: a 2xx. The write happened and must be in the store.
 * - failed: certainly not applied. A 4xx: refused before any change, and the
 *   same on every instance nginx might have tried.
 * - indeterminate: maybe applied. A timeout, a reset connection, no answer, any
 *   5xx. Even a 503 that says "draining" or "store down" proves nothing: nginx
 *   shows the client only its last try, and an earlier one (a Redis command that
 *   timed out after Redis ran it) may have applied the write. Only a retry with
 *   the same Idempotency-Key can tell, and it applies the write at most once.
 *   A mutation that got no answer at all is indeterminate too: autocannon does
 *   not say which request a socket error belonged to, so even a refused
 *   connection (never sent, strictly "failed") cannot be told from a reset one.
 */
export type Outcome = 'acknowledged' | 'failed' | 'indeterminate'

/** The outcome of a mutation that got an HTTP answer. */
export function outcomeOfAnswer (status: number): Outcome {
  if (status >= 200 && status < 300) return 'acknowledged'
  if (status >= 400 && status < 500) return 'failed'
  return 'indeterminate'
}

/** What an acknowledged mutation answered: a kv write's version, or a counter's value. */
export function answerOf (body: string): number | undefined {
  try {
    const parsed = JSON.parse(body) as { value?: unknown, version?: unknown }
    if (typeof parsed.version === 'number') return parsed.version
    if (typeof parsed.value === 'number') return parsed.value
  } catch {}
  return undefined
}
