import { Type, type StaticDecode, type StaticEncode, type TProperties } from 'typebox'
import { DrillLoadOptions, type DrillLoad } from '../drills/load-options.js'
import { runDrill, type Fault } from '../drills/run-drill.js'
import type { DrillResult } from '../results.js'
import type { RunningStack } from '../stack/running-stack.js'
import type { StackSettings } from '../stack/settings.js'
import { defineLesson, type StackLesson } from './lesson.js'

type DrillOptions<P extends TProperties> = ReturnType<typeof Type.Object<P & typeof DrillLoadOptions>>

/** What a drill lesson declares: the rest (the load's flags, the skeleton, the title, PASS/FAIL) is every drill's. */
export interface DrillDeclaration<P extends TProperties> {
  /** `scale-lab drill <name>`, `npm run drill:<name>`. */
  name: string
  description: string
  /** The drill's own options; the steady load's (--mix, --connections, --rate) are added. */
  options: P
  fault: (stack: RunningStack, options: StaticDecode<DrillOptions<P>>) => Fault
  /** The load's model for this drill (default: the closed model). */
  model?: 'closed' | 'open'
  stack?: (options: StaticDecode<DrillOptions<P>>) => Partial<StackSettings>
  intro?: (options: StaticDecode<DrillOptions<P>>) => string | undefined
  resultFile?: (options: StaticDecode<DrillOptions<P>>) => string
  /** The lab summary's line (its PASS/FAIL comes from the verdict). */
  headline: (result: DrillResult) => string
  /** The report's and the summary's title (default: `drill <name>`). */
  title?: (result: DrillResult) => string
  lab?: ReadonlyArray<Partial<StaticEncode<DrillOptions<P>>>>
  /** Run by `npm run lab` only when asked for with --with (a drill that reshapes the stack). */
  labOptIn?: boolean
  step?: (options: StaticDecode<DrillOptions<P>>) => string
}

/** A drill as a lesson: a fault on runDrill under the drills' load. */
export function defineDrill<P extends TProperties> (drill: DrillDeclaration<P>): StackLesson<DrillOptions<P>, DrillResult> {
  const lesson = defineLesson({
    name: drill.name,
    command: ['drill', drill.name],
    description: drill.description,
    options: Type.Object({ ...drill.options, ...DrillLoadOptions }) as DrillOptions<P>,
    usesStack: true,
    ...(drill.stack ? { stack: drill.stack } : {}),
    ...(drill.intro ? { intro: drill.intro } : {}),
    resultFile: drill.resultFile ?? (() => `${drill.name}.json`),
    run: ({ stack, meta, io }, o) => {
      // The load's options are in every drill's (DrillLoadOptions above); TypeScript cannot see it through P.
      const { mix, connections, rate } = o as unknown as DrillLoad
      return runDrill(stack, drill.fault(stack, o), { mix, connections, rate, ...(drill.model ? { model: drill.model } : {}) }, meta, io)
    },
    title: drill.title ?? ((result) => `drill ${result.drill}`),
    headline: (result) => ({ status: result.verdict.pass ? 'PASS' : 'FAIL', text: drill.headline(result) }),
    ...(drill.lab ? { lab: drill.lab } : {}),
    ...(drill.labOptIn ? { labOptIn: drill.labOptIn } : {}),
    ...(drill.step ? { step: drill.step } : {})
  })
  return lesson as StackLesson<DrillOptions<P>, DrillResult>
}
