/**
 * The one way a lesson runs: from the command line (its own run folder, the
 * stack that is up or one brought up for it, the verdict printed, the exit
 * code), or as a step of `npm run lab` (the lab's folder and fresh stack).
 * Either way the stack is put back as it was found, even on Ctrl-C. A compose
 * lesson runs on the compose project its options name (or the one given).
 */
import type { StaticDecode } from 'typebox'
import { composeTarget, findComposeProject } from '../containers/compose-target.js'
import type { AnyResult } from '../results.js'
import { printVerdict, runDir, runMeta, writeResult } from '../run.js'
import { useStack, type RunningStack } from '../stack/running-stack.js'
import type { ComposeTargetFlags } from './compose/target-options.js'
import type { AnyLesson, Headline, LessonIo, RunContext } from './lesson.js'

type Options = StaticDecode<AnyLesson['options']>

/** Runs `lesson` against `stack` (applying the changes it asks for and putting them back), on a compose project, or on its own when it brings its own processes. */
async function runOn (lesson: AnyLesson, options: Options, context: RunContext, stack: RunningStack | null): Promise<AnyResult> {
  if (lesson.usesStack === false) return lesson.run(context, options)
  if (lesson.usesStack === 'compose') {
    const { project, port } = options as ComposeTargetFlags
    return lesson.run({ ...context, target: await composeTarget(await findComposeProject(project), port) }, options)
  }
  const changes = lesson.stack?.(options) ?? {}
  // From the command line `stack` is null: the running stack (or a new one) with the changes.
  // In the lab, the lab's own stack, changed for this lesson only when it asks.
  const target = stack === null || Object.keys(changes).length > 0
    ? await useStack(changes, context.io.say, stack?.settings.dir)
    : stack
  try {
    return await lesson.run({ ...context, stack: target }, options)
  } finally {
    if (target !== stack) await target.release()
  }
}

/** `scale-lab <lesson>`: runs it, writes its result into the run folder, prints the verdict; the exit code says whether it held. */
export async function runFromCli (lesson: AnyLesson, options: Options, out: string | undefined): Promise<AnyResult> {
  const problem = lesson.invalid?.(options)
  if (problem !== undefined) throw new LessonOptionsError(problem)
  const io: LessonIo = { say: (line) => console.log(line) }
  const dir = runDir(out)
  const meta = await runMeta(dir)
  const intro = lesson.intro?.(options)
  if (intro !== undefined) io.say(intro)
  const result = await runOn(lesson, options, { meta, dir, io }, null)
  const path = writeResult(dir, lesson.resultFile(options), result)
  if ('verdict' in result) {
    printVerdict(lesson.title(result), result.verdict)
    if (!result.verdict.pass) process.exitCode = 1
  }
  console.log(`\nResult: ${path}   (render it: npx scale-lab report ${dir})`)
  return result
}

/** One step of `npm run lab`: the lesson on the lab's stack, its result saved in the lab's folder, its headline. */
export async function runInLab (lesson: AnyLesson, options: Options, context: RunContext, stack: RunningStack): Promise<Headline> {
  const result = await runOn(lesson, options, context, stack)
  writeResult(context.dir, lesson.resultFile(options), result)
  return lesson.headline(result)
}

/** Options that do not fit together (the schema checks each alone). */
export class LessonOptionsError extends Error {
  override name = 'LessonOptionsError'
}
