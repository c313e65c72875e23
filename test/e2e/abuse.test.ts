import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { abuseFault } from '../../src/lab/drills/abuse.js'
import { parseMix } from '../../src/lab/drills/mix.js'
import { runDrill } from '../../src/lab/drills/run-drill.js'
import { DrillResultSchema, problemsOf, type Verdict } from '../../src/lab/results.js'
import { runMeta } from '../../src/lab/run.js'
import { useStack } from '../../src/lab/stack/running-stack.js'
import { startTestStack } from '../stack-helper.js'

// A short drill abuse against a real stack: each attack for 2.5 s under the normal
// load. Asserted: the result's shape, a row per attack, and the verdicts that do
// not depend on the machine's load — the flood refused with 429s, Redis held at
// its bound with fast 503s and nothing acknowledged lost, no instance restarted.
// The normal clients' p99 and the 429s' speed are reported (t.comment), not
// asserted: this machine is shared.

const row = (verdict: Verdict, prefix: string) => {
  const found = verdict.checks.find((c) => c.name.startsWith(prefix))
  if (!found) throw new Error(`no verdict row "${prefix}" in ${verdict.checks.map((c) => c.name).join(' | ')}`)
  return found
}

// A low edge limit (the flood at 10× it is 500 req/s): on a busy machine the
// attacker, waiting for its answers, does not reach 2,000 req/s, and a flood that
// never passes the limit leaves nothing to refuse. The normal load stays below it.
const edge = { clientRate: 50, clientBurst: 50, clientWork: 2 }

t.test('drill abuse, short', async (t) => {
  const test = await startTestStack(t, edge)
  const io = { say: () => {} }
  const stack = await useStack(edge, io.say, test.settings.dir)
  t.teardown(() => stack.release())
  const meta = await runMeta(mkdtempSync(join(tmpdir(), 'sl-abuse-')))
  const load = { mix: parseMix('root:25,kv-get:25,kv-set:25,incr:25'), connections: 64, rate: 20, model: 'open' as const }
  const result = await runDrill(stack, abuseFault(stack, { phaseSeconds: 2, halfOpen: 1000, ...edge, headroomBytes: 2 ** 20 }), load, meta, io)
  t.comment(JSON.stringify(result.phases, null, 1))
  t.comment(result.verdict.checks.map((c) => `${c.pass ? 'ok ' : 'NOT'} ${c.name}: ${c.actual}`).join('\n'))

  t.strictSame(problemsOf(DrillResultSchema, result), [], 'the result fits its schema')
  t.strictSame(result.phases?.map((p) => p.phase), ['baseline', 'half-open', 'request-flood', 'write-flood', 'small-objects', 'cpu-route'])
  for (const phase of result.phases ?? []) t.ok(phase.normal.requests > 0, `${phase.phase}: the normal clients ran`)
  t.ok(row(result.verdict, 'request-flood: refused').pass, row(result.verdict, 'request-flood: refused').actual)
  t.match(row(result.verdict, 'request-flood: 429s in nginx').actual, /ms \(max \d+ ms\) over [1-9]/, 'nginx\'s own time for the 429s, read from its log')
  t.ok(row(result.verdict, 'write-flood: Redis\'s used_memory').pass, row(result.verdict, 'write-flood: Redis\'s used_memory').actual)
  t.ok(row(result.verdict, 'write-flood: its acknowledged').pass, row(result.verdict, 'write-flood: its acknowledged').actual)
  t.match(row(result.verdict, 'write-flood: writes past').actual, /over [1-9]/, 'the bound was met: writes refused with 503')
  t.ok(row(result.verdict, 'small-objects').pass, row(result.verdict, 'small-objects').actual)
  t.ok(row(result.verdict, 'no instance restarted').pass, row(result.verdict, 'no instance restarted').actual)
  for (const rule of ['counters', 'kv', 'no double']) t.ok(row(result.verdict, rule).pass, `audit: ${row(result.verdict, rule).actual}`)
})
