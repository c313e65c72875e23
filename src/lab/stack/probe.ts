/** Small HTTP probes of a running stack, always on 127.0.0.1. */

export interface ProbeAnswer {
  status: number
  instance: string | null
  upstream: string | null
}

export async function probe (port: number, path: string, timeoutMs = 2000): Promise<ProbeAnswer | null> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(timeoutMs) })
    await res.arrayBuffer()
    return { status: res.status, instance: res.headers.get('x-instance'), upstream: res.headers.get('x-upstream') }
  } catch {
    return null
  }
}

/** An instance's PID, from the instance itself (GET / answers with it): fast, and it proves the instance is up. */
export async function instancePid (port: number): Promise<number | null> {
  return fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(500) })
    .then((r) => (r.ok ? r.json() : null))
    .then((body) => (Number.isInteger((body as { pid?: unknown } | null)?.pid) ? (body as { pid: number }).pid : null))
    .catch(() => null)
}

export async function isReady (port: number): Promise<boolean> {
  return (await probe(port, '/health/ready'))?.status === 200
}

/**
 * Which instances answer through the balancer: `rounds` GETs of / per expected
 * instance, counting the distinct x-instance values of the 200s.
 */
export async function instancesThrough (lbPort: number, expected: number, rounds = 3): Promise<string[]> {
  const seen = new Set<string>()
  for (let i = 0; i < expected * rounds && seen.size < expected; i++) {
    const answer = await probe(lbPort, '/')
    if (answer?.status === 200 && answer.instance) seen.add(answer.instance)
  }
  return [...seen].sort()
}
