import { Type, type StaticDecode, type TProperties } from 'typebox'
import type { ComposeTarget } from '../../containers/compose-target.js'
import { DrillLoadOptions, type DrillLoad } from '../../drills/load-options.js'
import { runDrill, type Fault } from '../../drills/run-drill.js'
import type { DrillResult } from '../../results.js'
import { defineLesson, type ComposeLesson, type LessonIo } from '../lesson.js'
import { ComposeTargetOptions } from './target-options.js'

type ComposeDrillOptions<P extends TProperties> = ReturnType<typeof Type.Object<P & typeof DrillLoadOptions & typeof ComposeTargetOptions>>
type Decoded<P extends TProperties> = StaticDecode<ComposeDrillOptions<P>>

/** What a compose drill declares: like defineDrill's (lessons/drill.ts), on a compose project. */
export interface ComposeDrillDeclaration<P extends TProperties> {
  /** `scale-lab compose <name>`, `npm run compose:<name>`; its result compose-<name>.json. */
  name: string
  description: string
  options: P
  fault: (target: ComposeTarget, options: Decoded<P>, extra: { containers: string[] }) => Fault
  /** The project as the drill needs it (the api scaled out, put back afterwards); default: as it is. */
  around?: (target: ComposeTarget, options: Decoded<P>, io: LessonIo, drill: (containers: string[]) => Promise<DrillResult>) => Promise<DrillResult>
  headline: (result: DrillResult) => string
}

/** A drill on the compose stack, as a lesson: the drills' load, runDrill's skeleton and verdict, the project options. */
export function defineComposeDrill<P extends TProperties> (drill: ComposeDrillDeclaration<P>): ComposeLesson<ComposeDrillOptions<P>, DrillResult> {
  const lesson = defineLesson({
    name: `compose-${drill.name}`,
    command: ['compose', drill.name],
    description: drill.description,
    options: Type.Object({ ...drill.options, ...DrillLoadOptions, ...ComposeTargetOptions }) as ComposeDrillOptions<P>,
    usesStack: 'compose',
    resultFile: () => `compose-${drill.name}.json`,
    run: ({ target, meta, io }, o) => {
      // The load's options are in every drill's (DrillLoadOptions above); TypeScript cannot see it through P.
      const { mix, connections, rate } = o as unknown as DrillLoad
      const run = (containers: string[]) => runDrill(target, drill.fault(target, o, { containers }), { mix, connections, rate }, meta, io)
      return drill.around ? drill.around(target, o, io, run) : run([])
    },
    title: (result) => `compose ${result.drill.replace(/^compose-/, '')}`,
    headline: (result) => ({ status: result.verdict.pass ? 'PASS' : 'FAIL', text: drill.headline(result) })
  })
  return lesson as ComposeLesson<ComposeDrillOptions<P>, DrillResult>
}
