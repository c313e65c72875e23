// Runs the tap suite in two passes and reports their coverage as one.
//
// tap runs one file at a time on a 2-core machine (its default keeps a core
// free), so the suite's ~50 files paid ~5 s of process start-up each, in a row.
// Files that judge no timing run two at a time: test/*.test.ts and test/unit/
// (at most a Redis, an nginx or a server each), and the end-to-end files that
// bring a whole stack up only to check what it answers, never how fast. The
// other end-to-end files, whose drills judge latencies and recovery times and
// load the machine themselves, still run one at a time and alone, after them.
// Each pass keeps its own coverage; the report reads both.
import { spawnSync } from 'node:child_process'
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const TAP = join('node_modules', '.bin', 'tap')
const COVERAGE = join('.tap', 'coverage')
const testsIn = (dir) => readdirSync(dir).filter((f) => f.endsWith('.test.ts')).sort().map((f) => join(dir, f))
// End-to-end files that assert answers, shapes, counts and clean teardown, no
// latency or recovery bound: Ctrl-C at every step, the stack's error paths, the
// balancer's split, the scrape targets and series, the rate limit's counts
// (its ±5% rows are printed, not asserted), k6's scripts.
const UNTIMED_E2E = ['interrupt', 'k6', 'observe', 'rate-limit', 'stack', 'stack-errors']
  .map((name) => join('test', 'e2e', `${name}.test.ts`))
const e2e = testsIn(join('test', 'e2e'))
const PASSES = [
  { name: 'two at a time', jobs: 2, files: [...testsIn('test'), ...testsIn(join('test', 'unit')), ...UNTIMED_E2E] },
  { name: 'end to end with timing verdicts, one at a time', jobs: 1, files: e2e.filter((f) => !UNTIMED_E2E.includes(f)) }
]
const missing = UNTIMED_E2E.filter((f) => !e2e.includes(f))
if (missing.length > 0) throw new Error(`scripts/run-tests.js names test files that do not exist: ${missing.join(', ')}`)

function run (args) {
  const child = spawnSync(TAP, args, { stdio: 'inherit' })
  if (child.signal !== null) process.kill(process.pid, child.signal)
  return child.status === 0
}

// tap empties .tap/coverage when a run starts: each pass's is kept aside.
const kept = mkdtempSync(join(tmpdir(), 'sl-coverage-'))
let passed = true
try {
  for (const [i, pass] of PASSES.entries()) {
    console.log(`# tests, pass ${i + 1} of ${PASSES.length} (${pass.name}): ${pass.files.length} files`)
    passed = run([`--jobs=${pass.jobs}`, '--coverage-report=none', ...pass.files]) && passed
    cpSync(COVERAGE, kept, { recursive: true })
  }
  rmSync(COVERAGE, { recursive: true, force: true })
  cpSync(kept, COVERAGE, { recursive: true })
  // The report .taprc configures (text-summary, and the json-summary that
  // scripts/check-coverage.js reads), over both passes.
  passed = run(['report']) && passed
} finally {
  rmSync(kept, { recursive: true, force: true })
}
process.exitCode = passed ? 0 : 1
