import type autocannon from 'autocannon'
import { Ledger } from '../audit/ledger.js'
import { outcomeOfAnswer } from '../audit/outcome.js'
import { auditStore, readCounter } from '../audit/readback.js'
import { ClosingConnectionGuard, runAutocannon } from '../load/autocannon.js'
import type { CheckResult, RunMeta, VerdictCheck } from '../results.js'
import { newRunId } from '../run.js'
import { apiPortsOf, appNames } from '../stack/settings.js'
import { auditChecks, progressPrinter, type DrillIo } from './drill-io.js'
import type { RunningStack } from './running-stack.js'

export interface CheckOptions {
  keys: number
  concurrency: number
}

/** Shared counters every connection increments, round robin. */
const COUNTERS = 3

interface PairContext {
  index?: number
  key?: string
  valueJson?: string
  writeKey?: string
  ackedVersion?: number
}

/**
 * The seed's unfinished step, "load test again to see the values are properly
 * being set and get": every connection writes a unique key with a unique value
 * through nginx, reads it back through whichever instance nginx picks, and
 * increments a shared counter, each mutation with its own Idempotency-Key.
 * Then every counter is read through nginx and from each instance directly.
 * On the memory store reads miss and counters split; on Redis nothing may.
 */
export async function consistencyCheck (stack: RunningStack, options: CheckOptions, meta: RunMeta, io: DrillIo): Promise<CheckResult> {
  const runId = newRunId()
  const ledger = new Ledger()
  const counters = Array.from({ length: COUNTERS }, (_, i) => `check:${runId}:c${i}`)
  const reads = { total: 0, missed: 0, stale: 0, wrongValue: 0 }
  let next = 0
  const guard = new ClosingConnectionGuard()
  const harmless = (req: autocannon.Request): autocannon.Request => ({ ...req, method: 'GET', path: '/health/live', headers: {}, body: undefined })

  const settle = (status: number, body: string, writeKey: string | undefined): number | undefined => {
    if (!writeKey) return undefined
    const ok = status >= 200 && status < 300
    let answer: number | undefined
    if (ok) {
      const parsed = JSON.parse(body) as { version?: number, value?: number }
      answer = parsed.version ?? parsed.value
    }
    ledger.settle(writeKey, outcomeOfAnswer(status), status, answer)
    return ok ? answer : undefined
  }

  // One cycle per connection: write a fresh key, read it back, increment a counter.
  const requests: autocannon.Request[] = [
    {
      method: 'POST',
      setupRequest: (req, raw) => {
        const context = raw as PairContext
        context.key = undefined
        context.ackedVersion = undefined
        if (guard.replaceNext()) return harmless(req)
        const index = next++
        context.index = index
        context.key = `check:${runId}:k${index}`
        context.valueJson = JSON.stringify({ run: runId, index })
        context.writeKey = `${runId}-w${index}`
        context.ackedVersion = undefined
        ledger.add({ idempotencyKey: context.writeKey, kind: 'kv', target: context.key, valueJson: context.valueJson })
        return { ...req, path: `/kv/${context.key}`, headers: { 'content-type': 'application/json', 'idempotency-key': context.writeKey }, body: `{"value":${context.valueJson}}` }
      },
      onResponse: (status, body, raw, headers) => {
        guard.saw(headers)
        const context = raw as PairContext
        if (context.key !== undefined) context.ackedVersion = settle(status, body, context.writeKey)
      }
    },
    {
      method: 'GET',
      setupRequest: (req, raw) => {
        const context = raw as PairContext
        if (guard.replaceNext() || context.key === undefined) {
          context.ackedVersion = undefined // no read-back this time
          return harmless(req)
        }
        return { ...req, path: `/kv/${context.key}` }
      },
      onResponse: (status, body, raw, headers) => {
        guard.saw(headers)
        const context = raw as PairContext
        if (context.ackedVersion === undefined) return // the write failed or was not sent: nothing to read back
        reads.total++
        if (status === 404) { reads.missed++; return }
        const read = JSON.parse(body) as { version: number, value: unknown }
        if (read.version < context.ackedVersion) reads.stale++
        else if (read.version === context.ackedVersion && JSON.stringify(read.value) !== context.valueJson) reads.wrongValue++
      }
    },
    {
      method: 'POST',
      setupRequest: (req, raw) => {
        const context = raw as PairContext
        context.writeKey = undefined
        if (guard.replaceNext() || context.index === undefined) return harmless(req)
        const counter = counters[context.index % COUNTERS]!
        context.writeKey = `${runId}-c${context.index}`
        ledger.add({ idempotencyKey: context.writeKey, kind: 'incr', target: counter, by: 1 })
        return { ...req, path: `/counters/${counter}/incr`, headers: { 'content-type': 'application/json', 'idempotency-key': context.writeKey }, body: '{"by":1}' }
      },
      onResponse: (status, body, raw, headers) => {
        guard.saw(headers)
        settle(status, body, (raw as PairContext).writeKey)
      }
    }
  ]

  io.say(`check: ${options.keys} unique keys written and read back through nginx, ${COUNTERS} shared counters, ${options.concurrency} connections, STORE=${stack.settings.store}`)
  const { summary } = await runAutocannon({
    label: `check ${stack.settings.store}: ${options.keys} keys`,
    url: stack.base,
    connections: options.concurrency,
    amount: options.keys * requests.length,
    requests,
    countInstances: true,
    onTick: progressPrinter(io)
  })

  // Each counter through the balancer (what a client sees) and from each instance.
  const ports = apiPortsOf(stack.settings)
  const names = appNames(stack.settings)
  const counterRows: CheckResult['counters'] = []
  for (const [name, mutations] of ledger.byTarget('incr')) {
    const perInstance: Record<string, number> = {}
    for (const [i, port] of ports.entries()) perInstance[names[i]!] = await readCounter(`http://127.0.0.1:${port}`, name)
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
    { name: 'writes acknowledged and read back', expected: `${options.keys}`, actual: String(reads.total), pass: true, informational: true },
    { name: 'reads that missed their write (404)', expected: '0', actual: `${reads.missed} of ${reads.total}`, pass: reads.missed === 0 },
    { name: 'reads older than their write', expected: '0', actual: String(reads.stale), pass: reads.stale === 0 },
    { name: 'reads with another value', expected: '0', actual: String(reads.wrongValue), pass: reads.wrongValue === 0 },
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
    store: stack.settings.store,
    keys: options.keys,
    concurrency: options.concurrency,
    load: summary,
    reads,
    counters: counterRows,
    audit,
    verdict: { pass: checks.every((c) => c.informational || c.pass), checks }
  }
}
