// The end of every run: k6's text summary on stdout, plus the raw summary data
// as JSON in ${SUMMARY_DIR}/k6-<script>.json for the lab's reports.
//
// Why the jslib import: once a script exports handleSummary(), k6 prints only
// what it returns, and no k6 version (0.45 through 1.x and 2.x) exposes its
// built-in text summary to scripts; k6's docs and maintainers point to this
// jslib module for it. It renders k6's classic summary layout (the one from
// before 1.0's compact/full modes) and works with every version here, because
// handleSummary() receives the same (classic) data shape in all of them, unless
// the opt-in `--new-machine-readable-summary` (k6 1.5+) is given: then the text
// is replaced by a note, and the JSON file is still written.
//
// Network: k6 downloads https://jslib.k6.io/k6-summary/0.0.2/index.js when
// the script starts, so the machine running k6 needs to reach jslib.k6.io. For
// an offline machine, bundle the script where there is network first
// (`k6 archive k6/load.js`, then `k6 run archive.tar`): an archive carries
// remote modules with it.
import { textSummary } from 'https://jslib.k6.io/k6-summary/0.0.2/index.js'
import { env } from './config.js'

/**
 * What handleSummary returns: k6 writes each value to its key (stdout, or a
 * file path). The folder must exist: k6 creates the file, not its folder.
 * @param {string} script load, consistency or drill
 * @param {Record<string, any>} data the summary data k6 passes to handleSummary
 * @returns {Record<string, string>}
 */
export function summaryOutputs (script, data) {
  const options = data.options || {}
  const state = data.state || {}
  // Colours only on a terminal, and never with --no-color.
  const enableColors = !options.noColor && state.isStdOutTTY === true
  const path = summaryPath(script)
  let text
  try {
    if (!data.root_group) throw new Error('not the classic summary data (was --new-machine-readable-summary given?)')
    text = textSummary(data, { indent: ' ', enableColors })
  } catch (e) {
    text = 'No text summary: ' + String(e) + '. The summary data is in ' + path
  }
  /** @type {Record<string, string>} */
  const outputs = { stdout: '\n' + text + '\n\n' }
  outputs[path] = JSON.stringify(data, null, 2)
  return outputs
}

/** The trend statistics every script's summary shows: the percentiles, and `count` for the report. */
export const SUMMARY_TREND_STATS = ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'count']

/**
 * ${SUMMARY_DIR}/k6-<script>.json (SUMMARY_DIR default `reports`; a trailing slash is fine)
 * @param {string} script
 * @returns {string}
 */
export function summaryPath (script) {
  return env('SUMMARY_DIR', 'reports').replace(/\/+$/, '') + '/k6-' + script + '.json'
}
