import { setTimeout as sleep } from 'node:timers/promises'
import { auditStore } from '../audit/readback.js'
import type { DrillEvent, DrillResult, RunMeta, VerdictCheck } from '../results.js'
import { waitFor } from '../system/process.js'
import { pm2, restartsSince } from '../stack/pm2.js'
import { isReady } from '../stack/probe.js'
import { apiPortsOf, appNames } from '../stack/settings.js'
import { stackPaths } from '../stack/state.js'
import { auditChecks, drillTraffic, secondsSince, verdictOf, type DrillIo, type DrillLoad } from './drill-io.js'
import type { RunningStack } from './running-stack.js'
import { runTraffic } from './traffic.js'

export interface ReloadOptions extends DrillLoad {
  /** The longest the load may run; it ends 2 s after the last reload. */
  durationSeconds: number
}

/**
 * A rolling `pm2 reload` under load: one app at a time, each waiting until it is
 * ready again before the next. In fork mode a reload is stop-then-start, so the
 * drain (503 + Connection: close while closing), nginx's retries and
 * `max_fails=0` are what keep clients from seeing it. Goal: zero errors.
 */
export async function reloadDrill (stack: RunningStack, options: ReloadOptions, meta: RunMeta, io: DrillIo): Promise<DrillResult> {
  const names = appNames(stack.settings)
  const ports = apiPortsOf(stack.settings)
  const pm2Home = stackPaths(stack.settings.dir).pm2Home
  const events: DrillEvent[] = []
  let startedAt = 0
  const now = () => performance.now() - startedAt
  const reloaded: string[] = []

  const rolling = async () => {
    await sleep(2000)
    for (const [i, name] of names.entries()) {
      const began = now()
      events.push({ t: secondsSince(began), type: 'reload-start', target: name })
      io.say(`  reload ${name} at ${(began / 1000).toFixed(1)} s`)
      await pm2(pm2Home, ['reload', name])
      await waitFor(`${name} to be ready after its reload`, () => isReady(ports[i]!), 15_000, 20)
      events.push({ t: secondsSince(now()), type: 'reload-done', target: name, detail: `${Math.round(now() - began)} ms` })
      if (now() < options.durationSeconds * 1000) reloaded.push(name)
    }
  }

  const restartsDuring = await restartsSince(pm2Home)
  let rollout: Promise<void> = Promise.resolve()
  let rolloutStarted!: () => void
  const rolloutBegun = new Promise<void>((resolve) => { rolloutStarted = resolve })
  const traffic = await runTraffic({
    ...drillTraffic(stack.base, options, io),
    label: `drill reload over ${options.durationSeconds}s`,
    durationSeconds: options.durationSeconds,
    until: rolloutBegun.then(() => rollout).then(() => sleep(2000)),
    onStart: (at) => { startedAt = at; rollout = rolling(); rolloutStarted() }
  })
  await rollout

  const audit = await auditStore(stack.base, traffic.ledger, { kvBaseVersion: traffic.kvBaseVersion })
  const restarts = await restartsDuring()

  const errors = traffic.errorsByOperation.reads + traffic.errorsByOperation.writes
  const checks: VerdictCheck[] = [
    { name: 'apps reloaded while the load ran', expected: `${names.length}`, actual: `${reloaded.length} (${reloaded.join(', ') || 'none'})`, pass: reloaded.length === names.length },
    {
      // PM2 counts a reload as a restart: one each proves every app really got a new process.
      name: 'a new process for every app',
      expected: '1 restart each',
      actual: Object.entries(restarts).map(([app, n]) => `${app} ${n}`).join(', '),
      pass: names.every((name) => restarts[name] === 1)
    },
    { name: 'client-visible errors', expected: '0', actual: `${errors} (GET ${traffic.errorsByOperation.reads}, POST ${traffic.errorsByOperation.writes})`, pass: errors === 0 },
    ...auditChecks(audit)
  ]
  return {
    kind: 'drill',
    drill: 'reload',
    meta,
    options: { duration: `${options.durationSeconds}s`, connections: options.connections, rate: options.rate ?? 'max' },
    load: traffic.summary,
    events: events.sort((a, b) => a.t - b.t),
    restarts,
    audit,
    verdict: verdictOf(checks)
  }
}
