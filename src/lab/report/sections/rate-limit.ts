/**
 * The rate-limit lesson: one client over its limit, each instance counting it
 * alone, then the budget shared in Redis. The chart puts what was configured
 * beside what got through, per store, with N × the limit for scale.
 */
import type { RateLimitResult } from '../../results.js'
import { COLORS } from '../chart-style.js'
import { heading, resultsSection, table, text, type Block, type Section } from '../document.js'
import { formatCount, formatNumber, formatRatio, passFail } from '../format.js'
import { groupedBarChart } from '../grouped-bars.js'
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
  return groupedBarChart({
    name: ['rate-limit', file.replace(/\.json$/, '')],
    title: `One client over its limit: configured vs admitted, per store (${file})`,
    values,
    group: { field: 'store', title: 'RATE_LIMIT_STORE', sort: ['instance', 'shared'] },
    bars,
    colors: [COLORS.grey, COLORS.blue, COLORS.orange],
    yTitle: 'requests per second',
    step: 34,
    valueFormat: ',.1f'
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
  return resultsSection('rate-limit', 'Rate limit: per instance or for the cluster', run.rateLimits, resultBlocks, [
    'Counted by each instance alone, a limit is per instance: nginx spreads one client over N instances, and each lets the whole limit through, so the client gets N times it.',
    'Counted in Redis, the budget is one for the cluster: the instances lease parts of it, and together they admit the limit once.'
  ])
}
