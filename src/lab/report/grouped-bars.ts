/**
 * Bars side by side in groups (vega-lite's xOffset): what was asked for beside
 * what was measured, per store, per counter. One look for every such chart.
 */
import { chartName } from './chart-style.js'
import { chart, type Block } from './document.js'

export interface GroupedBars {
  /** Chart name parts (chartName) and the title. */
  name: string[]
  title: string
  /** One bar per row: its group (under `group.field`), which bar it is, and its height. */
  values: Array<Record<string, string | number | undefined> & { bar: string, value: number | undefined }>
  group: { field: string, title: string | null, sort?: string[] }
  /** The bars of every group, in order, with their colours. */
  bars: string[]
  colors: string[]
  yTitle: string
  /** Width of one bar, in pixels. */
  step: number
  /** d3 format of the value in the tooltip (raw when left out). */
  valueFormat?: string
}

export function groupedBarChart ({ name, title, values, group, bars, colors, yTitle, step, valueFormat }: GroupedBars): Block {
  return chart(chartName(...name), title, {
    data: { values },
    title,
    width: { step },
    height: 220,
    mark: { type: 'bar' },
    encoding: {
      x: { field: group.field, type: 'nominal', title: group.title, ...(group.sort === undefined ? {} : { sort: group.sort }), axis: { labelAngle: 0 } },
      xOffset: { field: 'bar', type: 'nominal', sort: bars },
      y: { field: 'value', type: 'quantitative', title: yTitle },
      color: { field: 'bar', type: 'nominal', title: null, sort: bars, scale: { domain: bars, range: colors } },
      tooltip: [{ field: group.field }, { field: 'bar' }, { field: 'value', ...(valueFormat === undefined ? {} : { format: valueFormat }) }]
    }
  })
}
