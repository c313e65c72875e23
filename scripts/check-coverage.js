// Enforces the coverage floors after `tap` (tap 21 reports coverage but has no
// per-metric thresholds). The floors are what the suite honestly reaches on a
// clean clone (`.ci/run` measured lines 92.4%, functions 84.0%, branches 90.3%),
// less a small margin; raise them when coverage rises, never lower them to pass.
// (A long-used working copy reported more, 99.9% of lines, for reasons not pinned
// down; the clean clone's figure is the one CI sees.)
import { readFileSync } from 'node:fs'

const floors = { lines: 90, statements: 90, functions: 80, branches: 85 }

const summary = JSON.parse(readFileSync('.tap/report/coverage-summary.json', 'utf8')).total
const failures = Object.entries(floors)
  .filter(([metric, floor]) => summary[metric].pct < floor)
  .map(([metric, floor]) => `${metric} ${summary[metric].pct}% < ${floor}%`)

if (failures.length > 0) {
  console.error(`coverage below the floor: ${failures.join(', ')}`)
  process.exit(1)
}
console.log(`coverage ok: ${Object.keys(floors).map((m) => `${m} ${summary[m].pct}%`).join(', ')}`)
