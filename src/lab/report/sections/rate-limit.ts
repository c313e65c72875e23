/**
 * The rate-limit lesson: one client over its limit, each instance counting it
 * alone, then the budget shared in Redis. The chart puts what was configured
 * beside what got through, per store, with N × the limit for scale.
 */
import type { RateLimitResult } from '../../results.js'
import { chartName, COLORS } from '../chart-style.js'
import { chart, heading, table, text, why, type Block, type Section } from '../document.js'
import { formatCount, formatNumber, formatRatio, passFail } from '../format.js'
import type { FromFile, RunData } from '../read-run.js'
import { verdictBlock } from '../verdict-blocks.js'

const CONFIGURED = 'configured (per client)'
const ADMITTED = 'admitted (2xx)'

function admittedChart (file: string, result: RateLimitResult): Block {
  const n = result.options.instances
  const timesN = `configured × ${n} instances`
  const bars = [CONFIGURED, ADMITTED, timesN]
  const values = result.phases.flatMap((p) => [
    { store: p.store, bar: CONFIGURED, value: p.configuredPerSecond },
    { store: p.store, bar: ADMITTED, value: p.admittedPerSecond },
    { store: p.store, bar: timesN, value: p.configuredPerSecond * n }
  ])
  const title = `One client over its limit: configured vs admitted, per store (${file})`
  return chart(chartName('rate-limit', file.replace(/\.json$/, '')), title, {
    data: { values },
    title,
    width: { step: 34 },
    height: 220,
    mark: { type: 'bar' },
    encoding: {
      x: { field: 'store', type: 'nominal', title: 'RATE_LIMIT_STORE', sort: ['instance', 'shared'], axis: { labelAngle: 0 } },
      xOffset: { field: 'bar', type: 'nominal', sort: bars },
      y: { field: 'value', type: 'quantitative', title: 'requests per second' },
      color: { field: 'bar', type: 'nominal', title: null, sort: bars, scale: { domain: bars, range: [COLORS.grey, COLORS.blue, COLORS.orange] } },
      tooltip: [{ field: 'store' }, { field: 'bar' }, { field: 'value', format: ',.1f' }]
    }
  })
}

function resultBlocks ({ file, result }: FromFile<RateLimitResult>): Block[] {
  const { limit, windowMs, over, windows, instances } = result.options
  const names = [...new Set(result.phases.flatMap((p) => Object.keys(p.admittedByInstance)))].sort()
  return [
    heading(`${passFail(result.verdict.pass)} (${file})`),
    text(`RATE_LIMIT_MAX=${formatCount(limit)} per ${formatCount(windowMs)} ms window; one client (its own address) sent ${formatCount(over)} × that through nginx → ${formatCount(instances)} instances, for ${formatCount(windows)} windows per store.`),
    table(['store', 'configured /s', 'offered /s', 'admitted /s', 'admitted ÷ configured', 'windows', '2xx', '429', '429 by nginx', 'other', ...names.map((n) => `2xx ${n}`)],
      result.phases.map((p) => [
        p.store, formatNumber(p.configuredPerSecond), formatNumber(p.offeredPerSecond), formatNumber(p.admittedPerSecond), formatRatio(p.ratio),
        formatCount(p.windows), formatCount(p.admitted), formatCount(p.refused), formatCount(p.refusedByEdge), formatCount(p.other),
        ...names.map((n) => formatCount(p.admittedByInstance[n] ?? 0))
      ])),
    admittedChart(file, result),
    verdictBlock(result.verdict)
  ]
}

export function rateLimitSection (run: RunData): Section | null {
  if (run.rateLimits.length === 0) return null
  return {
    id: 'rate-limit',
    title: 'Rate limit: per instance or for the cluster',
    blocks: [
      ...run.rateLimits.flatMap(resultBlocks),
      why(
        'Counted by each instance alone, a limit is per instance: nginx spreads one client over N instances, and each lets the whole limit through, so the client gets N times it.',
        'Counted in Redis, the budget is one for the cluster: the instances lease parts of it, and together they admit the limit once.'
      )
    ]
  }
}
