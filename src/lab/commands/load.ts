import type { Command } from 'commander'
import { useStack, type RunningStack } from '../drills/running-stack.js'
import { progressPrinter } from '../drills/drill-io.js'
import { runAutocannon } from '../load/autocannon.js'
import type { LoadResult, LoadSummary, RunMeta } from '../results.js'
import { runDir, runMeta, writeResult } from '../run.js'

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
      onTick: progressPrinter({ say })
    })
    say(`  ${summary.requests} responses, ${Math.round(summary.rps)} req/s, p50 ${summary.latencyMs.p50} ms, p99 ${summary.latencyMs.p99} ms, ${summary.errors.total} errors`)
    say(`  answered by: ${Object.entries(summary.instances ?? {}).sort().map(([name, n]) => `${name} ${(100 * n / summary.requests).toFixed(1)}%`).join(', ')}`)
    runs.push(summary)
  }
  return { kind: 'load', meta, runs }
}

export function registerLoadCommand (program: Command): void {
  program.command('load')
    .description('the seed\'s load test: N requests by C users, one instance direct, then through nginx')
    .option('--requests <n>', 'requests per run', '10000')
    .option('--connections <n>', 'concurrent users', '100')
    .option('--path <path>', 'the route to load', '/')
    .option('--out <dir>', 'run folder for load.json (default: reports/<time>)')
    .action(async (o: { requests: string, connections: string, path: string, out?: string }) => {
      const options = { requests: Number(o.requests), connections: Number(o.connections), path: o.path }
      if (!Number.isInteger(options.requests) || !Number.isInteger(options.connections) || options.connections < 1 || options.requests < options.connections) {
        throw new Error('--requests and --connections must be whole numbers, with requests ≥ connections')
      }
      const dir = runDir(o.out)
      const stack = await useStack({}, console.log)
      try {
        const result = await seedLoad(stack, options, await runMeta(dir), console.log)
        console.log(`\nResult: ${writeResult(dir, 'load.json', result)}`)
      } finally {
        await stack.release()
      }
    })
}
