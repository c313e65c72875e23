/**
 * How every chart looks and is named. Kept apart from charts.ts (which loads
 * vega to draw) so sections, and the bench printing them as text, describe
 * charts without loading the chart libraries.
 */

/**
 * One look for every chart; fonts are generic families so nothing is fetched.
 * Label limits are generous because, without a canvas in Node, vega estimates
 * text widths on the high side and would otherwise cut labels short.
 */
export const CHART_CONFIG = {
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
