// Runs the tap suite in two passes and reports their coverage as one.
//
// tap runs one file at a time on a 2-core machine (its default keeps a core
// free), so the suite's ~50 files paid ~5 s of process start-up each, in a row
// (less since ts-node transpiles with esbuild: scripts/ts-node-esbuild.cjs).
// Files that start at most a Redis, an nginx or a server and judge no timing
// (test/*.test.ts, test/unit/) run two at a time; the end-to-end files
// (test/e2e/), whose drills judge latencies and recovery times on a whole
// stack and load the machine themselves, still run one at a time and alone,
// after them. Each pass keeps its own coverage; the report reads both.
import { spawnSync } from 'node:child_process'
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const TAP = join('node_modules', '.bin', 'tap')
const COVERAGE = join('.tap', 'coverage')
const testsIn = (dir) => readdirSync(dir).filter((f) => f.endsWith('.test.ts')).sort().map((f) => join(dir, f))
const PASSES = [
  { name: 'two at a time', jobs: 2, files: [...testsIn('test'), ...testsIn(join('test', 'unit'))] },
  { name: 'end to end, one at a time', jobs: 1, files: testsIn(join('test', 'e2e')) }
]

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
