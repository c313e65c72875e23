/**
 * Turns a chart's vega-lite spec into an SVG string, in Node, with no browser
 * and no canvas: vega-lite compiles to a vega spec, a headless vega View renders
 * it to SVG markup. The SVG is then embedded inline in report.html and written
 * to charts/<name>.svg for report.md, so both show exactly the same picture.
 */
import * as vega from 'vega'
import { compile, type TopLevelSpec } from 'vega-lite'
import { CHART_CONFIG } from './chart-style.js'
import type { ChartSpec } from './document.js'

/** A chart drawn. */
export interface Chart {
  /** File-safe and unique in the report: charts/<name>.svg, and the HTML id. */
  name: string
  title: string
  svg: string
  /** What vega-lite or vega warned about while rendering it (normally none). */
  warnings: string[]
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
export async function renderChart ({ name, title, spec }: ChartSpec): Promise<Chart> {
  const warnings: string[] = []
  const logger = vega.logger(vega.Warn, undefined, (method, _level, args) => {
    if (method !== 'log') warnings.push(`chart ${name}: ${args.map(String).join(' ')}`)
  })
  const withDefaults = { ...spec, description: title, config: { ...CHART_CONFIG, ...spec.config } } as TopLevelSpec
  const view = new vega.View(vega.parse(compile(withDefaults, { logger }).spec), { renderer: 'none', logger })
  try {
    const svg = await view.toSVG()
    return { name, title, svg: prefixIds(svg, name), warnings }
  } finally {
    view.finalize()
  }
}
