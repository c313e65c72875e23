/**
 * A lesson, declared once: its command, its options (typed, with their defaults:
 * the CLI flags are derived from them), what it needs from the stack, its result
 * file, how it runs, how its outcome reads in a line, and how `npm run lab` runs
 * it. The `scale-lab` commands and `npm run lab` are both driven from the list in
 * index.ts, so adding a lesson is adding a declaration.
 */
import type { StaticDecode, StaticEncode, TObject } from 'typebox'
import type { ComposeTarget } from '../containers/compose-target.js'
import type { AnyResult, RunMeta } from '../results.js'
import type { StackSettings } from '../stack/settings.js'
import type { RunningStack } from '../stack/running-stack.js'

/** Where a lesson reports progress (the CLI prints; tests collect or drop). */
export interface LessonIo {
  say: (line: string) => void
}

/** What every lesson runs with: the run's header and folder, and where to talk. */
export interface RunContext {
  meta: RunMeta
  /** The run folder its result file goes in (some lessons write more there). */
  dir: string
  io: LessonIo
}

/** A lesson on the stack also gets the stack, changed as it asked. */
export interface StackContext extends RunContext {
  stack: RunningStack
}

/** A lesson on the compose stack gets the running project it was pointed at. */
export interface ComposeContext extends RunContext {
  target: ComposeTarget
}

/** How a result reads in the lab's summary: PASS/FAIL of a verdict, "expected FAIL" for the lesson that must fail, "done" for a measurement. */
export type LessonStatus = 'PASS' | 'FAIL' | 'expected FAIL' | 'done' | 'ERROR'

export interface Headline {
  status: LessonStatus
  text: string
}

interface LessonBase<S extends TObject, R extends AnyResult> {
  /** Its name in `npm run lab --only` and in npm scripts (`drill:kill`). */
  name: string
  /** `scale-lab drill kill` → ['drill', 'kill']. */
  command: readonly [string] | readonly [string, string]
  description: string
  /** Every option: the flags, their defaults and descriptions (see options.ts). */
  options: S
  /** A check across options the schema cannot express; a message when they do not fit. */
  invalid?: (options: StaticDecode<S>) => string | undefined
  /** Said before it starts (the "before" picture's warning). */
  intro?: (options: StaticDecode<S>) => string | undefined
  resultFile: (options: StaticDecode<S>) => string
  /** The verdict table's title (`drill kill`, `check (redis)`); lessons without a verdict print their own. */
  title: (result: R) => string
  /** One line for the lab's summary. */
  headline: (result: R) => Headline
  /** How `npm run lab` runs it: one entry per run, each the flags changed from the defaults (as typed on the command line). Absent: not in the lab. */
  lab?: ReadonlyArray<Partial<StaticEncode<S>>>
  /** Its lab runs take too long for the journey: `npm run lab` runs them only when asked (`--with <name>`). */
  labOptIn?: boolean
  /** The lab step's name for one run (default: the command, e.g. `drill kill`). */
  step?: (options: StaticDecode<S>) => string
}

/** A lesson that runs against the stack (the running one, or one it brings up). */
export interface StackLesson<S extends TObject, R extends AnyResult> extends LessonBase<S, R> {
  usesStack: true
  /** What it changes on the stack while it runs (another store, nginx without retries); put back afterwards. */
  stack?: (options: StaticDecode<S>) => Partial<StackSettings>
  run: (context: StackContext, options: StaticDecode<S>) => Promise<R>
}

/**
 * A lesson on a running compose stack (`docker compose up`): its options include
 * the project and nginx's published port (lessons/compose/target-options.ts),
 * which the command line opens; a test hands it its own project instead.
 */
export interface ComposeLesson<S extends TObject, R extends AnyResult> extends LessonBase<S, R> {
  usesStack: 'compose'
  run: (context: ComposeContext, options: StaticDecode<S>) => Promise<R>
}

/** A lesson that starts processes of its own on free ports (the bench). */
export interface SelfContainedLesson<S extends TObject, R extends AnyResult> extends LessonBase<S, R> {
  usesStack: false
  run: (context: RunContext, options: StaticDecode<S>) => Promise<R>
}

export type Lesson<S extends TObject = TObject, R extends AnyResult = AnyResult> = StackLesson<S, R> | ComposeLesson<S, R> | SelfContainedLesson<S, R>

/** Declares a lesson, checking its parts against each other's types. */
export function defineLesson<S extends TObject, R extends AnyResult> (lesson: Lesson<S, R>): Lesson<S, R> {
  return lesson
}

// The registry holds lessons of every option and result type.
export type AnyLesson = Lesson<any, any>
