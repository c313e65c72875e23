import { Type } from 'typebox'
import { runOverload } from '../drills/overload.js'
import { overloadFlags, type OverloadResult } from '../results.js'
import { defineLesson } from './lesson.js'
import { Choice, Duration, Multiples, Switch } from './options.js'

/** The routes the drill can overload: the CPU-bound one is the one whose instances shed. */
const ROUTES = { work: '/work?ms=5' } as const

/** The result file's suffix: the default, the "before", or shedding under nginx's old retries. */
const variant = (shed: boolean, retryShed: boolean) => (shed ? (retryShed ? '-retry-shed' : '') : '-no-shed')

/**
 * Not a fault under the drills' mixed load: levels of open-model load on one
 * route, at multiples of its capacity measured in the same run. With shedding
 * the goodput stays near the capacity; without (and with nginx retrying refusals)
 * it collapses.
 */
export const overloadLesson = defineLesson({
  name: 'overload',
  command: ['drill', 'overload'],
  description: 'measure a route\'s capacity, then offer it multiples of that as an open-model load: served, shed and failed per level',
  options: Type.Object({
    levels: Multiples('0.5,1,1.5,2', 'multiples of the measured capacity to offer, ascending (the verdict is at the highest)'),
    route: Choice(['work'], 'work', `the route to overload (work: GET ${ROUTES.work}, CPU-bound, shed by its instances)`),
    shed: Switch(true, 'the "before" picture: no load shedding (WORK_SHED=0) and nginx retrying 502/503 answers elsewhere (4 tries)'),
    retryShed: Switch(false, 'shedding on, but nginx retries 502/503 answers elsewhere (4 tries): retries multiplying refused work'),
    duration: Duration('5s', 'how long each level runs'),
    capacityDuration: Duration('3s', 'how long the closed-model run that measures the capacity runs'),
    timeout: Duration('2s', 'how long a client waits for an answer')
  }),
  usesStack: true,
  // nginx's access log counts the tries: on, whatever BENCH says.
  stack: (o) => ({ accessLog: true, ...(o.shed ? {} : { workShed: false }), ...(o.retryShed || !o.shed ? { retryShed: true } : {}) }),
  intro: (o) => {
    if (!o.shed) return 'The "before" picture: every instance takes all the work it is given and nginx retries refusals on the others (expect this to fail).'
    return o.retryShed ? 'Shedding, but nginx retries every refusal on the other instances (expect this to fail).' : undefined
  },
  resultFile: (o) => `overload${variant(o.shed, o.retryShed)}.json`,
  run: ({ stack, meta, io }, o) => runOverload(stack, {
    path: ROUTES[o.route],
    levels: o.levels,
    levelSeconds: o.duration,
    capacitySeconds: o.capacityDuration,
    timeoutMs: Math.round(o.timeout * 1000)
  }, meta, io),
  title: (result: OverloadResult) => `drill overload${overloadFlags(result)}`,
  headline: (result: OverloadResult) => {
    const top = result.levels[result.levels.length - 1]
    const capacity = result.capacity.goodputRps
    const status = result.verdict.pass ? 'PASS' : overloadFlags(result) === '' ? 'FAIL' : 'expected FAIL'
    if (top === undefined) return { status, text: `capacity ${capacity} req/s, no level measured` }
    return {
      status,
      text: `capacity ${capacity} req/s; at ${top.multiple}×: served ${top.goodputRps} req/s (${capacity > 0 ? Math.round(100 * top.goodputRps / capacity) : '?'} %), ` +
        `p99 ${top.answeredMs === null ? '–' : `${top.answeredMs.p99.toFixed(0)} ms`}, shed ${top.shedRps} req/s (p99 ${top.nginxShedP99Ms == null ? '–' : `${top.nginxShedP99Ms.toFixed(1)} ms`} at nginx, ` +
        `${top.shedP99Ms === null ? '–' : `${top.shedP99Ms.toFixed(1)} ms`} at the client), ` +
        `${top.triesPerRequest === null ? '?' : top.triesPerRequest.toFixed(2)} tries/request`
    }
  },
  step: (o) => `drill overload${o.shed ? (o.retryShed ? ' --retry-shed' : '') : ' --no-shed'}`,
  lab: [{ levels: '0.5,1,2', duration: '3s', capacityDuration: '2s' }]
})
