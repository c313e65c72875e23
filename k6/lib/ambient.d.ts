// Types for the type-check only (tsconfig.k6.json); k6 never reads this file.
// @types/k6 types k6's own modules and globals (__ENV, __VU, __ITER), but not
// `console` (a global k6 provides, printed as log lines on stderr) nor the
// jslib module the summary is rendered with. A script file (no import/export),
// so both declarations are global.

/** The part of k6's console these scripts use. */
declare const console: {
  log (...args: unknown[]): void
  warn (...args: unknown[]): void
  error (...args: unknown[]): void
}

/** https://grafana.com/docs/k6/latest/javascript-api/jslib/ — the end-of-test text summary. */
declare module 'https://jslib.k6.io/k6-summary/0.0.2/index.js' {
  export function textSummary (
    data: object,
    options?: { indent?: string, enableColors?: boolean }
  ): string
}
