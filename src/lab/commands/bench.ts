import { InvalidArgumentError, Option, type Command } from 'commander'
import { FleetError } from '../bench/fleet.js'
import { CellSelectionError } from '../bench/matrix.js'
import { BenchError, runBench, type BenchOptions, type Engine } from '../bench/run.js'

function positiveInt (name: string) {
  return (value: string): number => {
    const n = Number(value)
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a whole number ≥ 1`)
    return n
  }
}

/**
 * `scale-lab bench`: the scaling matrix as ratios, in one run, against processes
 * it starts on free ports (and stops, by PID, however it ends). Exits 0 when the
 * bench ran, whether or not the targets were met (they are reported, not
 * gated); non-zero when the bench itself failed.
 */
export function registerBenchCommand (program: Command): void {
  program.command('bench')
    .description('the scaling matrix (seed baselines, nginx ceiling, 1/2/4 instances, Redis vs memory, CPU-bound route) as ratios, interleaved, medians of repetitions')
    .addOption(new Option('--engine <engine>', 'load generator (default: wrk when on PATH, else autocannon)').choices(['wrk', 'autocannon']))
    .option('--repetitions <n>', 'interleaved repetitions per cell (default 3)', positiveInt('--repetitions'))
    .option('--duration <seconds>', 'seconds per measured run (default 5; 2 with --quick)', positiveInt('--duration'))
    .option('--connections <n>', 'concurrent connections (default 100)', positiveInt('--connections'))
    .option('--quick', 'the short matrix: 7 cells, 2 s runs')
    .option('--cells <ids>', 'comma-separated cell ids or groups (baseline, ceiling, direct, balanced, store, cpu, hot-path)', (v: string) => v.split(','))
    .option('--work-ms <n>', 'N of the CPU-bound GET /work?ms=N (default 5)', positiveInt('--work-ms'))
    .option('--no-open-model', 'skip the open-model latency run')
    .option('--out <dir>', 'output folder (default reports/<run>/)')
    .action(async (options: { engine?: Engine, repetitions?: number, duration?: number, connections?: number, quick?: boolean, cells?: string[], workMs?: number, openModel: boolean, out?: string }) => {
      const bench: BenchOptions = {
        engine: options.engine,
        repetitions: options.repetitions,
        durationSeconds: options.duration,
        connections: options.connections,
        quick: options.quick === true,
        cells: options.cells,
        workMs: options.workMs,
        openModel: options.openModel,
        out: options.out
      }
      try {
        await runBench(bench)
      } catch (err) {
        if (err instanceof BenchError || err instanceof CellSelectionError || err instanceof FleetError) {
          console.error(`scale-lab bench: ${err.message}`)
          process.exitCode = 1
          return
        }
        throw err
      }
    })
}
