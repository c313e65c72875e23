/**
 * Turns a vega-lite spec into an SVG string, in Node, with no browser and no
 * canvas: vega-lite compiles to a vega spec, a headless vega View renders it to
 * SVG markup. The SVG is then embedded inline in report.html and written to
 * charts/<name>.svg for report.md, so both show exactly the same picture.
 */
import * as vega from 'vega'
import { compile, type TopLevelSpec } from 'vega-lite'
import type { Chart } from './document.js'

/**
 * One look for every chart; fonts are generic families so nothing is fetched.
 * Label limits are generous because, without a canvas in Node, vega estimates
 * text widths on the high side and would otherwise cut labels short.
 */
const CONFIG = {
  font: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
  background: 'white',
  padding: 8,
  axis: { labelFontSize: 11, titleFontSize: 12, labelLimit: 420 },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 320 },
  header: { labelFontSize: 11, titleFontSize: 12 },
  title: { fontSize: 14, anchor: 'start' as const, subtitleFontSize: 11, subtitleColor: '#59636e' }
}

/** The colours a newcomer can tell apart, reused so "errors" is always red. */
export const COLORS = {
  blue: '#4c78a8',
  orange: '#f58518',
  red: '#e45756',
  teal: '#72b7b2',
  green: '#54a24b',
  yellow: '#eeca3b',
  purple: '#b279a2',
  grey: '#9d9d9d',
  brown: '#9d755d',
  ink: '#333333'
}

/** Chart names become file names and HTML ids. */
export function chartName (...parts: string[]): string {
  return parts.join('-').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '')
}

/**
 * vega numbers its clip paths and gradients from 1 in every SVG; several SVGs
 * inline in one page would then share ids and clip each other. Prefixing every
 * id (and its url(#...) / href="#..." references) with the chart's name keeps
 * them apart.
 */
function prefixIds (svg: string, prefix: string): string {
  return svg
    .replace(/\bid="([^"]+)"/g, (_, id: string) => `id="${prefix}-${id}"`)
    .replace(/url\(#([^)]+)\)/g, (_, id: string) => `url(#${prefix}-${id})`)
    .replace(/href="#([^"]+)"/g, (_, id: string) => `href="#${prefix}-${id}"`)
}

/**
 * Renders one chart. vega-lite and vega warn on the console by default, which
 * a CLI's user cannot act on; the warnings are collected on the chart instead,
 * so the report command can show them and the tests can demand none.
 */
export async function renderChart (name: string, title: string, spec: TopLevelSpec): Promise<Chart> {
  const warnings: string[] = []
  const logger = vega.logger(vega.Warn, undefined, (method, _level, args) => {
    if (method !== 'log') warnings.push(`chart ${name}: ${args.map(String).join(' ')}`)
  })
  const withDefaults = { ...spec, description: title, config: { ...CONFIG, ...spec.config } } as TopLevelSpec
  const view = new vega.View(vega.parse(compile(withDefaults, { logger }).spec), { renderer: 'none', logger })
  try {
    const svg = await view.toSVG()
    return { name, title, svg: prefixIds(svg, name), warnings }
  } finally {
    view.finalize()
  }
}
