import { Type } from 'typebox'
import { runBench } from '../bench/run.js'
import type { BenchResult } from '../results.js'
import { defineLesson } from './lesson.js'
import { Choice, Count, OptionalCount, OptionalList, Switch } from './options.js'

/** The scaling matrix as ratios, measured in one run, on processes of its own. */
export const benchLesson = defineLesson({
  name: 'bench',
  command: ['bench'],
  description: 'the scaling matrix (seed baselines, nginx ceiling, 1/2/4 instances, Redis vs memory, durable mode, CPU-bound route) as ratios, interleaved, medians of repetitions',
  options: Type.Object({
    engine: Choice(['auto', 'wrk', 'autocannon'], 'auto', 'load generator (auto: wrk when on PATH, else autocannon)'),
    repetitions: Count(3, 'interleaved repetitions per cell'),
    duration: OptionalCount('seconds per measured run (default 5; 2 with --quick)'),
    connections: Count(100, 'concurrent connections'),
    quick: Switch(false, 'the short matrix: a few cells, 2 s runs'),
    cells: OptionalList('comma-separated cell ids or groups (baseline, ceiling, direct, balanced, store, cpu, hot-path)', '<ids>'),
    workMs: Count(5, 'N of the CPU-bound GET /work?ms=N'),
    openModel: Switch(true, 'skip the open-model latency run')
  }),
  // It starts its own processes on free ports, whatever stack is up.
  usesStack: false,
  resultFile: () => 'bench.json',
  run: ({ dir, io }, o) => runBench({
    ...(o.engine === 'auto' ? {} : { engine: o.engine }),
    repetitions: o.repetitions,
    durationSeconds: o.duration,
    connections: o.connections,
    quick: o.quick,
    cells: o.cells,
    workMs: o.workMs,
    openModel: o.openModel,
    out: dir,
    log: io.say
  }),
  title: () => 'bench',
  headline: (result: BenchResult) => {
    // A target not judged here (or not measured) has met null: it is shown, not counted.
    const judged = result.targets.filter((t) => t.met !== null)
    const met = judged.filter((t) => t.met === true).length
    return {
      status: 'done',
      text: `${result.cells.length} cells; targets met ${met} of ${judged.length}: ${result.targets.map((t) => `${t.name} ${t.value === null ? '–' : t.value.toFixed(2)} (${t.goal})`).join('; ')}`
    }
  },
  lab: [{ quick: true }],
  step: (o) => (o.quick ? 'bench (quick)' : 'bench')
})
