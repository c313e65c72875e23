import { rmSync } from 'node:fs'
import { relative } from 'node:path'
import type { Command } from 'commander'
import { consistencyCheck } from '../drills/check.js'
import { killDrill } from '../drills/kill.js'
import { redisDrill } from '../drills/redis.js'
import { reloadDrill } from '../drills/reload.js'
import { DRILL_LOAD_DEFAULTS, type DrillLoad } from '../drills/drill-io.js'
import { useStack, type RunningStack } from '../drills/running-stack.js'
import { parseMix } from '../drills/traffic.js'
import type { AnyResult, RunMeta } from '../results.js'
import { runDir, runMeta, writeResult } from '../run.js'
import { freshStackSettings } from '../stack/fresh.js'
import { seedLoad } from './load.js'

/** The journey's steps, in order. */
export const LAB_STEPS = ['load', 'check', 'kill', 'reload', 'redis', 'bench'] as const
export type LabStep = typeof LAB_STEPS[number]

interface StepOutcome {
  step: string
  /** PASS / FAIL of the verdict, "expected FAIL" for the lesson, "done" for a measurement, ERROR if it broke. */
  status: 'PASS' | 'FAIL' | 'expected FAIL' | 'done' | 'ERROR'
  headline: string
  seconds: number
}

/**
 * What each step runs, on the lab's own fresh stack. Each returns its result
 * files (written into the run folder) and a one-line headline.
 */
function stepRunners (stack: RunningStack, dir: string, meta: RunMeta, say: (line: string) => void): Record<LabStep, () => Promise<Array<{ step: string, status: StepOutcome['status'], headline: string }>>> {
  const save = (file: string, result: AnyResult) => writeResult(dir, file, result)
  // The drills' own defaults, as `npm run drill` runs them.
  const load: DrillLoad = { ...DRILL_LOAD_DEFAULTS, mix: parseMix(DRILL_LOAD_DEFAULTS.mix) }
  return {
    load: async () => {
      const result = await seedLoad(stack, { requests: 10_000, connections: 100, path: '/' }, meta, say)
      save('load.json', result)
      return [{ step: 'load', status: 'done', headline: result.runs.map((r) => `${r.label.split(':')[0]}: ${Math.round(r.rps)} req/s, p99 ${r.latencyMs.p99} ms`).join('; ') }]
    },
    check: async () => {
      const outcomes = []
      for (const store of ['memory', 'redis'] as const) {
        say(`check --store ${store}`)
        const target = await useStack({ store }, say, stack.settings.dir)
        try {
          const result = await consistencyCheck(target, { keys: 2000, concurrency: 50 }, meta, { say })
          save(`check-${store}.json`, result)
          const missed = `${result.reads.missed} of ${result.reads.total} reads missed; counters ${result.counters.map((c) => `${c.final}/${c.acknowledged}`).join(', ')}`
          // The memory store failing is the lesson, when it fails the way the lesson says:
          // reads miss their writes and each counter is split across the instances.
          const split = result.counters.length > 0 && result.counters.every((c) => Object.values(c.perInstance).filter((v) => v > 0).length > 1)
          const lesson = !result.verdict.pass && result.reads.missed > 0 && split
          outcomes.push({
            step: `check ${store}`,
            status: store === 'memory' ? (lesson ? 'expected FAIL' as const : 'FAIL' as const) : (result.verdict.pass ? 'PASS' as const : 'FAIL' as const),
            headline: missed
          })
        } finally {
          await target.release()
        }
      }
      return outcomes
    },
    kill: async () => {
      const result = await killDrill(stack, { everySeconds: 2, durationSeconds: 30, signal: 'SIGKILL', ...load, readyWithinMs: 1500 }, meta, { say })
      save('kill.json', result)
      const slowest = Math.max(0, ...(result.recoveries ?? []).map((r) => r.readyAfterMs ?? Infinity))
      return [{ step: 'drill kill', status: result.verdict.pass ? 'PASS' : 'FAIL', headline: `${result.recoveries?.length ?? 0} kills, ${result.load.errors.total} client errors, slowest back in ${slowest} ms, audit ${result.audit.acknowledged}/${result.audit.failed}/${result.audit.indeterminate}` }]
    },
    reload: async () => {
      const result = await reloadDrill(stack, { durationSeconds: 60, ...load }, meta, { say })
      save('reload.json', result)
      return [{ step: 'drill reload', status: result.verdict.pass ? 'PASS' : 'FAIL', headline: `${result.load.errors.total} client errors over ${result.load.requests} requests` }]
    },
    redis: async () => {
      const result = await redisDrill(stack, { downSeconds: 5, hard: false, fsync: 'everysec', ...load }, meta, { say })
      save('redis.json', result)
      const actual = (prefix: string) => result.verdict.checks.find((c) => c.name.startsWith(prefix))?.actual ?? '?'
      return [{ step: 'drill redis', status: result.verdict.pass ? 'PASS' : 'FAIL', headline: `503s answered in p99 ${actual('failures')}; back ${actual('recovery')} after Redis answered` }]
    },
    bench: async () => {
      const { runBench } = await import('../bench/run.js')
      const result = await runBench({ quick: true, out: dir, log: say })
      const met = result.targets.filter((t) => t.met === true).length
      return [{ step: 'bench (quick)', status: 'done', headline: `${result.cells.length} cells; targets met ${met} of ${result.targets.length}: ${result.targets.map((t) => `${t.name} ${t.value === null ? '–' : t.value.toFixed(2)} (${t.goal})`).join('; ')}` }]
    }
  }
}

/**
 * `npm run lab`: the whole journey on a fresh stack of its own (free ports, a
 * temporary state folder): up → the seed's load test → check on memory then
 * Redis → the three drills → a short bench → the report → down.
 */
export async function runLab (steps: readonly LabStep[], out: string | undefined, say: (line: string) => void): Promise<{ outcomes: StepOutcome[], reportPath: string | null, dir: string }> {
  const dir = runDir(out)
  const meta = await runMeta(dir)
  const fresh = await freshStackSettings()
  const started = performance.now()
  const outcomes: StepOutcome[] = []
  say(`scale-lab lab: ${steps.join(' → ')}, on a fresh stack; results in ${relative(process.cwd(), dir) || dir}`)
  say('[up] a fresh stack: Redis, PM2 × 4, nginx, on free ports')
  const stack = await useStack(fresh, say, fresh.dir)
  try {
    const runners = stepRunners(stack, dir, meta, say)
    for (const [i, step] of steps.entries()) {
      const began = performance.now()
      say(`\n[${i + 1}/${steps.length}] ${step}  (${Math.round((began - started) / 1000)} s in)`)
      try {
        for (const outcome of await runners[step]()) outcomes.push({ ...outcome, seconds: Math.round((performance.now() - began) / 1000) })
      } catch (err) {
        outcomes.push({ step, status: 'ERROR', headline: (err as Error).message, seconds: Math.round((performance.now() - began) / 1000) })
      }
    }
  } finally {
    say('\n[down] stopping the lab\'s stack')
    await stack.release()
    rmSync(fresh.dir, { recursive: true, force: true })
  }

  let reportPath: string | null = null
  try {
    const { renderReport } = await import('../report/render-report.js')
    reportPath = (await renderReport(dir)).htmlPath
  } catch (err) {
    outcomes.push({ step: 'report', status: 'ERROR', headline: (err as Error).message, seconds: 0 })
  }
  say(`\nThe lab took ${Math.round((performance.now() - started) / 1000)} s.`)
  return { outcomes, reportPath, dir }
}

export function registerLabCommand (program: Command): void {
  program.command('lab')
    .description('the whole journey in one command: load, check, drills, bench, report, on a fresh stack')
    .option('--only <steps>', `comma-separated subset of: ${LAB_STEPS.join(', ')}`)
    .option('--skip <steps>', 'comma-separated steps to leave out')
    .option('--out <dir>', 'run folder (default: reports/<time>)')
    .action(async (o: { only?: string, skip?: string, out?: string }) => {
      const parse = (text: string) => text.split(',').map((s) => s.trim()).filter(Boolean).map((s) => {
        if (!(LAB_STEPS as readonly string[]).includes(s)) throw new Error(`unknown step "${s}": choose from ${LAB_STEPS.join(', ')}`)
        return s as LabStep
      })
      const only = o.only ? parse(o.only) : [...LAB_STEPS]
      const skip = o.skip ? parse(o.skip) : []
      const steps = LAB_STEPS.filter((s) => only.includes(s) && !skip.includes(s))
      const { outcomes, reportPath } = await runLab(steps, o.out, (line) => console.log(line))
      console.log('\nstep            result         seconds  headline')
      for (const o of outcomes) console.log(`${o.step.padEnd(15)} ${o.status.padEnd(14)} ${String(o.seconds).padStart(7)}  ${o.headline}`)
      if (reportPath) console.log(`\nReport: ${relative(process.cwd(), reportPath) || reportPath}   (open it in a browser; report.md beside it)`)
      if (outcomes.some((o) => o.status === 'FAIL' || o.status === 'ERROR')) process.exitCode = 1
    })
}
