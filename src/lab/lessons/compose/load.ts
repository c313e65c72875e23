import { Type } from 'typebox'
import { seedLoad } from '../../load/seed-load.js'
import type { LoadResult } from '../../results.js'
import { defineLesson } from '../lesson.js'
import { loadLesson } from '../load.js'
import { ComposeTargetOptions } from './target-options.js'

/** The seed's load test (lessons/load.ts) on the compose stack: through its nginx (the instances are not published). */
export const composeLoadLesson = defineLesson({
  name: 'compose-load',
  command: ['compose', 'load'],
  description: 'the seed\'s load test on the compose stack, through its nginx',
  options: Type.Object({ ...loadLesson.options.properties, ...ComposeTargetOptions }),
  usesStack: 'compose',
  invalid: (o) => loadLesson.invalid?.(o),
  resultFile: () => 'compose-load.json',
  run: ({ target, meta, io }, o) => seedLoad(target, o, meta, io.say),
  title: () => 'compose load',
  headline: (result: LoadResult) => loadLesson.headline(result)
})
