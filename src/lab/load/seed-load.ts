import type { LoadResult, LoadSummary, RunMeta } from '../results.js'
import type { StackTarget } from '../target.js'
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
 * to all of them, counting who answered. On a stack whose instances this machine
 * cannot reach directly (in containers), through nginx only.
 */
export async function seedLoad (stack: StackTarget, options: LoadOptions, meta: RunMeta, say: (line: string) => void): Promise<LoadResult> {
  const what = `${options.requests} × GET ${options.path}, ${options.connections} connections`
  const where = stack.kind === 'local' ? '' : ` (${stack.name})`
  const targets = [
    ...(stack.directUrl === null ? [] : [{ label: `1 instance direct (${stack.instances[0]})${where}: ${what}`, url: stack.directUrl }]),
    { label: `nginx → ${stack.instances.length} instances${where}: ${what}`, url: stack.base }
  ]
  if (stack.directUrl === null) say(`The instances of ${stack.name} are not published on this machine: through nginx only.`)
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
