// Enforces the coverage floors after `tap` (tap 21 reports coverage but has no
// per-metric thresholds). The floors are what the suite honestly reaches, less
// a small margin; raise them when coverage rises, never lower them to pass.
import { readFileSync } from 'node:fs'

const floors = { lines: 97, statements: 97, functions: 95, branches: 88 }

const summary = JSON.parse(readFileSync('.tap/report/coverage-summary.json', 'utf8')).total
const failures = Object.entries(floors)
  .filter(([metric, floor]) => summary[metric].pct < floor)
  .map(([metric, floor]) => `${metric} ${summary[metric].pct}% < ${floor}%`)

if (failures.length > 0) {
  console.error(`coverage below the floor: ${failures.join(', ')}`)
  process.exit(1)
}
console.log(`coverage ok: ${Object.keys(floors).map((m) => `${m} ${summary[m].pct}%`).join(', ')}`)
