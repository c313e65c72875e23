import { Type } from 'typebox'
import { measurePhase, rateLimitVerdictChecks, type PhaseOptions } from '../drills/rate-limit.js'
import type { RateLimitPhase, RateLimitResult } from '../results.js'
import { localStackTarget } from '../stack/running-stack.js'
import { up } from '../stack/stack.js'
import { verdictOf } from '../verdict.js'
import { defineLesson, type StackLesson } from './lesson.js'
import { Count, Duration } from './options.js'

const ratioOf = (result: RateLimitResult, store: RateLimitPhase['store']) => result.phases.find((p) => p.store === store)?.ratio.toFixed(2) ?? '?'

/**
 * A per-instance limit behind a balancer is N times the intended one: one client
 * well over its limit, first with each instance counting alone, then with the
 * budget in Redis. The edge's own per-client limit is lifted for the lesson, so
 * every 429 is an instance's.
 */
const RateLimitOptions = Type.Object({
  limit: Count(20, 'the per-client limit the instances get (RATE_LIMIT_MAX), per window'),
  window: Duration('1s', 'the limit\'s window (RATE_LIMIT_WINDOW_MS)'),
  over: Count(10, 'the client sends this many times its limit (at least twice the instances)', 2),
  windows: Count(5, 'windows the client sends for, per store', 2)
})

export const rateLimitLesson = defineLesson({
  name: 'rate-limit',
  command: ['drill', 'rate-limit'],
  description: 'one client well over its rate limit through nginx: each instance counting alone admits N × the limit, the shared (Redis) budget the limit',
  options: RateLimitOptions,
  usesStack: true,
  // The first store's limit comes with the stack; the run switches to the second.
  stack: (o) => ({ clientRate: 0, rateLimit: { max: o.limit, windowMs: o.window * 1000, store: 'instance' } }),
  invalid: (o) => (o.window < 0.1 ? '--window must be at least 100ms (RATE_LIMIT_WINDOW_MS\'s minimum)' : undefined),
  intro: () => 'Each instance counts the client alone first (expect N × the limit), then the budget is shared in Redis (expect the limit).',
  resultFile: () => 'rate-limit.json',
  run: async ({ stack, meta, io }, o) => {
    const instances = stack.instances.length
    // Each instance must see more than its limit, with room for the 2xx bursts to end well before the window does.
    if (o.over < 2 * instances) throw new Error(`--over must be at least twice the instances (${2 * instances}): each instance has to see more than its limit`)
    const options: RateLimitResult['options'] = { limit: o.limit, windowMs: o.window * 1000, over: o.over, windows: o.windows, instances }
    const phase = (store: PhaseOptions['store']): PhaseOptions => ({ ...options, store })
    const tick = (store: string) => (second: number, admitted: number) => io.say(`  ${store}: ${second} s, ${admitted} admitted`)

    io.say(`RATE_LIMIT_STORE=instance: ${o.over * o.limit} requests per window from ${instances} instances' point of view`)
    const phases = [await measurePhase(stack, phase('instance'), tick('instance'))]
    // The stack's release (the lesson's caller) puts back what was there before either store.
    const shared = { ...stack.settings, rateLimit: { max: o.limit, windowMs: o.window * 1000, store: 'shared' as const } }
    io.say('RATE_LIMIT_STORE=shared: the same client, the budget in Redis')
    await up(shared)
    phases.push(await measurePhase(localStackTarget(shared), phase('shared'), tick('shared')))
    const result: RateLimitResult = {
      kind: 'rate-limit',
      meta,
      options,
      phases,
      verdict: verdictOf(rateLimitVerdictChecks(phases, instances))
    }
    return result
  },
  title: () => 'drill rate-limit',
  headline: (result) => ({
    status: result.verdict.pass ? 'PASS' : 'FAIL',
    text: `limit ${result.options.limit} per ${result.options.windowMs} ms: instance store ${ratioOf(result, 'instance')}× it (${result.options.instances} instances), shared ${ratioOf(result, 'shared')}×`
  }),
  lab: [{ windows: 3 }]
}) as StackLesson<typeof RateLimitOptions, RateLimitResult>
