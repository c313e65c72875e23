import { Type } from 'typebox'
import { seedLoad } from '../load/seed-load.js'
import type { LoadResult } from '../results.js'
import { defineLesson } from './lesson.js'
import { Count, Text } from './options.js'

/** The seed's load test, done again: one instance direct, then every instance behind nginx. */
export const loadLesson = defineLesson({
  name: 'load',
  command: ['load'],
  description: 'the seed\'s load test: N requests by C users, one instance direct, then through nginx',
  options: Type.Object({
    requests: Count(10_000, 'requests per run'),
    connections: Count(100, 'concurrent users'),
    path: Text('/', 'the route to load', '<path>')
  }),
  usesStack: true,
  invalid: (o) => (o.requests < o.connections ? '--requests must be at least --connections' : undefined),
  resultFile: () => 'load.json',
  run: ({ stack, meta, io }, o) => seedLoad(stack, o, meta, io.say),
  title: () => 'load',
  headline: (result: LoadResult) => ({
    status: 'done',
    text: result.runs.map((r) => `${r.label.split(':')[0]}: ${Math.round(r.rps)} req/s, p99 ${r.latencyMs.p99} ms`).join('; ')
  }),
  lab: [{}]
})
