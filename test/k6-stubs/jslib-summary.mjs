// Stand-in for https://jslib.k6.io/k6-summary/0.0.2/index.js: a marker text.
export function textSummary (data, options) {
  return 'TEXT SUMMARY (' + Object.keys(data.metrics || {}).length + ' metrics, colors ' + Boolean(options && options.enableColors) + ')'
}
