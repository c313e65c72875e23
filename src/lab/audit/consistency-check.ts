import type autocannon from 'autocannon'
import { Ledger } from './ledger.js'
import { answerOf, outcomeOfAnswer } from './outcome.js'
import { auditStore, counterValue, inPool, readCounter } from './readback.js'
import { ClosingConnectionGuard, runAutocannon } from '../load/autocannon.js'
import type { CheckResult, RunMeta, VerdictCheck } from '../results.js'
import type { LessonIo } from '../lessons/lesson.js'
import { progressPrinter } from '../load/progress.js'
import { newRunId } from '../run.js'
import type { StackTarget } from '../target.js'
import { verdictOf } from '../verdict.js'
import { auditChecks } from './checks.js'

export interface CheckOptions {
  keys: number
  concurrency: number
}

/** Shared counters every connection increments, round robin. */
const COUNTERS = 3

/** A write acknowledged and not yet read back. */
interface Written { key: string, valueJson: string, version: number }

/** What one request of the check is doing (autocannon gives each request a fresh context). */
interface Context {
  write?: { key: string, valueJson: string, idempotencyKey: string }
  read?: Written
  incr?: string
}

/**
 * The seed's unfinished step, "load test again to see the values are properly
 * being set and get": unique keys written through nginx, each with a unique
 * value and its own Idempotency-Key, and read back through whichever instance
 * nginx picks; meanwhile shared counters incremented, each increment with its
 * own key. Then every counter is read through nginx and from each instance
 * directly. On the memory store reads miss and counters split; on Redis nothing may.
 *
 * Each request carries what it needs in its own context (a write, a read of an
 * acknowledged write, or an increment), so an answer can never be credited to
 * another request, whatever autocannon does with a reconnect.
 */
export async function consistencyCheck (stack: StackTarget, options: CheckOptions, meta: RunMeta, io: LessonIo): Promise<CheckResult> {
  const runId = newRunId()
  const ledger = new Ledger()
  const counters = Array.from({ length: COUNTERS }, (_, i) => `check:${runId}:c${i}`)
  const reads = { total: 0, missed: 0, stale: 0, wrongValue: 0, failed: 0 }
  const toRead: Written[] = []
  const guard = new ClosingConnectionGuard()
  let written = 0
  let incremented = 0
  let turn = 0

  /** Compares a read with the write it reads back. */
  const judge = (written: Written, status: number, body: string) => {
    reads.total++
    if (status === 404) { reads.missed++; return }
    if (status !== 200) { reads.failed++; return }
    try {
      const read = JSON.parse(body) as { version: number, value: unknown }
      if (read.version < written.version) reads.stale++
      else if (read.version === written.version && JSON.stringify(read.value) !== written.valueJson) reads.wrongValue++
    } catch {
      reads.failed++
    }
  }

  const json = { 'content-type': 'application/json' }
  const request: autocannon.Request = {
    setupRequest: (req, raw) => {
      const context = raw as Context
      const harmless = { ...req, method: 'GET' as const, path: '/health/live', headers: {}, body: undefined }
      if (guard.replaceNext()) return harmless
      // Writes, read-backs and increments in turn; a read takes the oldest acknowledged write.
      const kind = turn++ % 3
      if (kind === 1 && toRead.length > 0) {
        context.read = toRead.shift()!
        return { ...req, method: 'GET', path: `/kv/${context.read.key}`, headers: {}, body: undefined }
      }
      if (kind === 2 && incremented < options.keys) {
        const counter = counters[incremented % COUNTERS]!
        const idempotencyKey = `${runId}-c${incremented++}`
        context.incr = idempotencyKey
        ledger.add({ idempotencyKey, kind: 'incr', target: counter, by: 1 })
        return { ...req, method: 'POST', path: `/counters/${counter}/incr`, headers: { ...json, 'idempotency-key': idempotencyKey }, body: '{"by":1}' }
      }
      if (written < options.keys) {
        const index = written++
        const write = { key: `check:${runId}:k${index}`, valueJson: JSON.stringify({ run: runId, index }), idempotencyKey: `${runId}-w${index}` }
        context.write = write
        ledger.add({ idempotencyKey: write.idempotencyKey, kind: 'kv', target: write.key, valueJson: write.valueJson })
        return { ...req, method: 'POST', path: `/kv/${write.key}`, headers: { ...json, 'idempotency-key': write.idempotencyKey }, body: `{"value":${write.valueJson}}` }
      }
      return harmless
    },
    onResponse: (status, body, raw, headers) => {
      guard.saw(headers)
      const context = raw as Context
      const ok = status >= 200 && status < 300
      if (context.read) judge(context.read, status, body)
      if (context.incr) ledger.settle(context.incr, outcomeOfAnswer(status), status, ok ? answerOf(body) : undefined)
      if (context.write) {
        const version = ok ? answerOf(body) : undefined
        ledger.settle(context.write.idempotencyKey, outcomeOfAnswer(status), status, version)
        if (version !== undefined) toRead.push({ key: context.write.key, valueJson: context.write.valueJson, version })
      }
    }
  }

  io.say(`check: ${options.keys} unique keys written and read back through nginx, ${COUNTERS} shared counters, ${options.concurrency} connections, STORE=${stack.store}${stack.kind === 'local' ? '' : `, on ${stack.name}`}`)
  const { summary } = await runAutocannon({
    label: `check ${stack.store}${stack.kind === 'local' ? '' : ` (${stack.name})`}: ${options.keys} keys`,
    url: stack.base,
    connections: options.concurrency,
    amount: options.keys * 3,
    requests: [request],
    countInstances: true,
    onTick: progressPrinter(io.say)
  })
  // Writes acknowledged in the last moments, not read back by the load yet.
  await inPool(toRead.splice(0), 16, async (entry) => {
    const res = await fetch(`${stack.base}/kv/${entry.key}`, { signal: AbortSignal.timeout(5000) })
    judge(entry, res.status, await res.text())
  })

  // Each counter through the balancer (what a client sees) and from each instance.
  const counterRows: CheckResult['counters'] = []
  for (const [name, mutations] of ledger.byTarget('incr')) {
    const answers = await stack.askEachInstance(`/counters/${name}`)
    const perInstance = Object.fromEntries(Object.entries(answers).map(([instance, answer]) => [instance, counterValue(name, answer.status, answer.body)]))
    counterRows.push({
      name,
      acknowledged: mutations.filter((m) => Ledger.outcomeOf(m) === 'acknowledged').length,
      final: await readCounter(stack.base, name),
      perInstance
    })
  }
  const audit = await auditStore(stack.base, ledger)

  const counterMismatch = counterRows.filter((c) => c.final !== c.acknowledged)
  const checks: VerdictCheck[] = [
    { name: 'acknowledged writes read back', expected: `≥ 99% of ${options.keys}`, actual: String(reads.total), pass: reads.total >= 0.99 * options.keys },
    { name: 'reads that missed their write (404)', expected: '0', actual: `${reads.missed} of ${reads.total}`, pass: reads.missed === 0 },
    { name: 'reads older than their write', expected: '0', actual: String(reads.stale), pass: reads.stale === 0 },
    { name: 'reads with another value', expected: '0', actual: String(reads.wrongValue), pass: reads.wrongValue === 0 },
    { name: 'reads that failed (an error, not an answer)', expected: '0', actual: String(reads.failed), pass: reads.failed === 0 },
    {
      name: 'counters through nginx == acknowledged increments',
      expected: 'all equal',
      actual: counterMismatch.length === 0
        ? `${counterRows.length} of ${counterRows.length} equal`
        : counterMismatch.map((c) => `${c.name.split(':').pop()}: ${c.final} vs ${c.acknowledged} (per instance ${Object.values(c.perInstance).join('/')})`).join('; '),
      pass: counterMismatch.length === 0
    },
    ...auditChecks(audit)
  ]
  return {
    kind: 'check',
    meta,
    store: stack.store,
    keys: options.keys,
    concurrency: options.concurrency,
    load: summary,
    reads,
    counters: counterRows,
    audit,
    verdict: verdictOf(checks)
  }
}
