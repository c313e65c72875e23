import type { LoadResult, LoadSummary, RunMeta } from '../results.js'
import type { RunningStack } from '../stack/running-stack.js'
import { runAutocannon } from './autocannon.js'
import { progressPrinter } from './progress.js'

export interface LoadOptions {
  requests: number
  connections: number
  path: string
}

/**
 * The seed's load test, re-run honestly: the same requests (10,000 by 100
 * concurrent users by default) against one instance directly, then through nginx
 * to all of them, counting who answered.
 */
export async function seedLoad (stack: RunningStack, options: LoadOptions, meta: RunMeta, say: (line: string) => void): Promise<LoadResult> {
  const targets = [
    { label: `1 instance direct (api-1): ${options.requests} × GET ${options.path}, ${options.connections} connections`, url: `http://127.0.0.1:${stack.settings.apiBasePort}` },
    { label: `nginx → ${stack.settings.instances} instances: ${options.requests} × GET ${options.path}, ${options.connections} connections`, url: stack.base }
  ]
  const runs: LoadSummary[] = []
  for (const target of targets) {
    say(target.label)
    const { summary } = await runAutocannon({
      label: target.label,
      url: target.url,
      connections: options.connections,
      amount: options.requests,
      requests: [{ method: 'GET', path: options.path }],
      countInstances: true,
      onTick: progressPrinter(say)
    })
    say(`  ${summary.requests} responses, ${Math.round(summary.rps)} req/s, p50 ${summary.latencyMs.p50} ms, p99 ${summary.latencyMs.p99} ms, ${summary.errors.total} errors`)
    say(`  answered by: ${Object.entries(summary.instances ?? {}).sort().map(([name, n]) => `${name} ${(100 * n / summary.requests).toFixed(1)}%`).join(', ')}`)
    runs.push(summary)
  }
  return { kind: 'load', meta, runs }
}
