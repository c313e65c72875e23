import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import t, { type Test } from 'tap'
import { COMPOSE_FILE, COMPOSE_TEST_FILE, ComposeProject } from '../../src/lab/containers/compose.js'
import { composeTarget, findComposeProject } from '../../src/lab/containers/compose-target.js'
import { prepareTestEnv, testEnvBlocker, type TestEnv } from '../../src/lab/containers/test-env.js'
import { parseMix } from '../../src/lab/drills/mix.js'
import { isLossOrDoublingRule } from '../../src/lab/drills/redis.js'
import { runTraffic, type Observation } from '../../src/lab/drills/traffic.js'
import { composeCheckLesson } from '../../src/lab/lessons/compose/check.js'
import { composeKillLesson } from '../../src/lab/lessons/compose/kill.js'
import { composeLoadLesson } from '../../src/lab/lessons/compose/load.js'
import { composePartitionLesson } from '../../src/lab/lessons/compose/partition.js'
import { parseFlags } from '../../src/lab/lessons/flags.js'
import type { AnyLesson, ComposeLesson } from '../../src/lab/lessons/lesson.js'
import type { AnyResult, CheckResult, DrillResult, LoadResult, Verdict } from '../../src/lab/results.js'
import { renderReport } from '../../src/lab/report/render-report.js'
import { runMeta, writeResult } from '../../src/lab/run.js'
import { PROJECT_DIR } from '../../src/lab/paths.js'
import { onInterrupt } from '../../src/lab/system/interrupt.js'
import { freePort } from '../../src/lab/system/ports.js'
import { isAlive, waitFor } from '../../src/lab/system/process.js'

// docker-compose.yml, really run: on the lab's own Docker engine (never a user's),
// on local stand-ins for the official images (docker-compose.test.yml), through
// nginx's published port on 127.0.0.1. Then the faults a container stack meets:
// an instance killed inside the api container, Redis restarted, the api container
// replaced by one with another address, an api container's cable pulled. Time bounds are loose (a busy CI machine).

const blocker = testEnvBlocker()
if (blocker !== null) console.error(`\n*** compose e2e SKIPPED: ${blocker} ***\n`)

const SERVICES = ['redis', 'api', 'nginx']
const INSTANCES = ['api-1', 'api-2', 'api-3', 'api-4']
const mix = parseMix('root:40,kv-get:30,kv-set:15,incr:15')
const seconds = (since: number) => Math.round((performance.now() - since) / 100) / 10

// A cold engine builds every image (minutes on a busy machine); tap's 300 s is for warm runs.
t.setTimeout(30 * 60_000)

t.test('the compose stack on the lab engine', { skip: blocker ?? false }, async (t) => {
  // Progress and figures: on stderr as they come, and in the TAP output.
  const say = (line: string) => { console.error(`# ${line}`); t.comment(line) }
  const fileStarted = performance.now()
  const env: TestEnv = await prepareTestEnv({ hold: 'lease' }, say)
  const imagesSeconds = seconds(fileStarted)
  say(`engine ${env.engine.started ? `started, pid ${env.engine.pid}` : 'already running'}; images in ${imagesSeconds} s: ` +
    env.images.map((i) => `${i.tag} ${i.built ? `built ${i.seconds} s` : 'cached'}`).join(', '))

  // Several runs may share the engine: each its own project, subnet, api image tag, port.
  const octet = 2 + (process.pid % 250)
  const lbPort = await freePort()
  const project = new ComposeProject({
    paths: env.paths,
    name: `sl-e2e-${process.pid}`,
    files: [COMPOSE_FILE, COMPOSE_TEST_FILE],
    variables: {
      REDIS_PASSWORD: randomBytes(12).toString('hex'),
      LB_PORT: String(lbPort),
      // The lab's stack: which api container answered, for the partition lesson.
      SL_UPSTREAM_HEADER: 'add_header x-upstream $upstream_addr always;',
      SL_TEST_SUBNET: `172.28.${octet}.0/24`,
      SL_TEST_BALANCER: `172.28.${octet}.10`,
      SL_TEST_API_IMAGE: `scale-lab-test/api:${createHash('sha256').update(PROJECT_DIR).digest('hex').slice(0, 12)}`
    }
  })
  let downDone = false
  const cleanup = async () => {
    if (!downDone) await project.down().catch((err) => say(`down failed: ${err.message}`))
    downDone = true
    await env.release()
  }
  const unregister = onInterrupt(cleanup)
  t.teardown(async () => { unregister(); await cleanup() })

  const base = `http://127.0.0.1:${lbPort}`
  const upStarted = performance.now()

  let up = false
  const step = (name: string, fn: (t: Test) => Promise<void>) => t.test(name, async (t) => {
    if (!up) return t.fail('not run: the stack did not come up')
    await fn(t)
  })

  t.test('up --build: every service healthy, nginx published on LB_PORT', async (t) => {
    await project.up()
    await project.waitHealthy(SERVICES, 180_000)
    up = true
    say(`up --build and healthy in ${seconds(upStarted)} s`)
    t.equal(await project.publishedPort('nginx', 80), lbPort)
    for (const service of SERVICES) t.equal(await project.health(service), 'healthy', service)
  })

  step('nginx rotates over the four instances', async (t) => {
    const seen = new Set<string>()
    for (let i = 0; i < 24; i++) {
      const res = await fetch(`${base}/`)
      t.equal(res.status, 200)
      seen.add(res.headers.get('x-instance') ?? 'none')
      await res.arrayBuffer()
    }
    t.strictSame([...seen].sort(), INSTANCES)
  })

  const key = `compose-${process.pid}`
  step('a write through nginx reads back from every instance', async (t) => {
    const value = { written: Date.now() }
    const res = await fetch(`${base}/kv/${key}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ value }) })
    t.equal(res.status, 201)
    await res.arrayBuffer()
    // Each instance's own port, from the nginx container across the project's network.
    for (let port = 3001; port <= 3004; port++) {
      const { stdout } = await project.exec('nginx', ['wget', '-q', '-O', '-', `http://api:${port}/kv/${key}`])
      t.strictSame(JSON.parse(stdout), { key, value, version: 1 }, `api:${port}`)
    }
  })

  // The lessons of `scale-lab compose …`, run as the CLI runs them, on this project.
  const out = mkdtempSync(join(tmpdir(), 'sl-compose-'))
  const lesson = async <R extends AnyResult>(which: AnyLesson, flags: Record<string, unknown>): Promise<R> => {
    const target = await composeTarget(project, lbPort)
    const run = which.run as ComposeLesson<any, R>['run']
    const result = await run({ meta: await runMeta(out), dir: out, io: { say }, target }, parseFlags(which.options, { project: project.name, ...flags }))
    const verdict = (result as { verdict?: Verdict }).verdict
    if (verdict !== undefined) for (const c of verdict.checks) say(`  ${c.pass ? 'PASS' : 'FAIL'} ${c.name}: ${c.actual} (expected ${c.expected})`)
    return result
  }

  step('scale-lab compose finds the project by its name, with the files it was brought up with', async (t) => {
    const found = await findComposeProject(project.name, env.paths)
    t.equal(found.name, project.name)
    t.strictSame(await found.containers('api'), await project.containers('api'))
  })

  step('scale-lab compose check: the consistency check through the container stack\'s nginx, PASS on Redis', async (t) => {
    const result = await lesson<CheckResult>(composeCheckLesson, { keys: '300', concurrency: '10' })
    t.equal(result.store, 'redis')
    t.ok(result.verdict.pass, JSON.stringify(result.verdict.checks.filter((c) => !c.pass)))
    t.match(result.reads, { total: 300, missed: 0, stale: 0, wrongValue: 0 })
    for (const counter of result.counters) {
      t.equal(counter.final, counter.acknowledged, `${counter.name} through nginx`)
      t.strictSame(Object.keys(counter.perInstance).sort(), INSTANCES, 'read from each instance inside the api container')
      t.ok(Object.values(counter.perInstance).every((v) => v === counter.acknowledged), 'every instance sees the same count')
    }
  })

  step('scale-lab compose load: through nginx only (the instances are not published)', async (t) => {
    const result = await lesson<LoadResult>(composeLoadLesson, { requests: '300', connections: '10' })
    t.equal(result.runs.length, 1)
    t.equal(result.runs[0]!.errors.total, 0)
  })

  step('scale-lab compose kill: an instance SIGKILLed inside the api container under load, no client error', async (t) => {
    // Back within a minute: PM2 restarts it in about a second on a quiet machine, tens of seconds on a busy one.
    const result = await lesson<DrillResult>(composeKillLesson, { rate: '200', connections: '8', readyWithin: '60s' })
    t.equal(result.recoveries?.length, 1, `killed ${result.recoveries?.[0]?.target}`)
    t.equal(result.load.errors.total, 0, `client errors: ${JSON.stringify(result.load.errors.byKind)}`)
    t.ok(result.load.requests > 100, `${result.load.requests} requests during the fault`)
    t.ok(result.verdict.pass, 'the verdict: no client error, back, nothing lost or doubled')
  })

  step('docker-compose restart redis: fast 503s, then recovery, data kept', async (t) => {
    const observations: Observation[] = []
    const restart = (async () => {
      await sleep(1000)
      await project.restart('redis')
      await waitFor('GET /kv to answer 200 again', async () => (await fetch(`${base}/kv/${key}`).then((r) => r.status)) === 200, 30_000, 100)
      await sleep(1000)
    })()
    restart.catch(() => {})
    const traffic = await runTraffic({ label: 'redis', url: base, connections: 8, rate: 200, durationSeconds: 60, until: restart, mix, runId: `r${process.pid}`, onAnswer: (o) => observations.push(o) })
    await restart
    const failures = observations.filter((o) => o.status < 200 || o.status > 299)
    say(`redis restart: ${failures.length} of ${observations.length} answers were not 2xx, slowest ${Math.round(Math.max(0, ...traffic.failureLatenciesMs))} ms`)
    t.strictSame([...new Set(failures.map((o) => o.status))].filter((s) => s !== 503), [], 'every failure is a 503 (the store is away), never a 502/504')
    // Each instance gives up on Redis after its command timeout (400 ms) and nginx tries
    // the next: four tries bound a 503 at ~1.6 s, loosened for a busy machine.
    t.ok(Math.max(0, ...traffic.failureLatenciesMs) < 5000, 'the 503s were fast: no request waited for Redis to come back')
    t.equal(Object.keys(traffic.summary.errors.byKind).filter((k) => !k.startsWith('non2xx')).length, 0, 'no socket error or timeout')
    const after = await (await fetch(`${base}/kv/${key}`)).json() as { version: number }
    t.equal(after.version, 1, 'the key written before the restart is still there (AOF)')
    await project.waitHealthy(SERVICES, 60_000)
  })

  step('the api container replaced by one with a new address, under load: nginx follows by itself', async (t) => {
    const observations: Observation[] = []
    let addresses = { before: '', after: '', stopMs: 0, startMs: 0 }
    let replacedAt = 0
    const replace = (async () => {
      await sleep(1000)
      replacedAt = performance.now()
      addresses = await project.replaceWithNewAddress('api')
      await waitFor('200s through nginx again', async () => (await fetch(`${base}/`).then((r) => r.status)) === 200, 60_000, 100)
      // Then every instance of the new container answering: on a slow machine a cold one's first
      // answers can miss nginx's 1 s read timeout (CI once: failed answers among the last 50).
      const answered = new Set<string>()
      await waitFor('every instance of the new container to answer', async () => {
        const response = await fetch(`${base}/`)
        await response.arrayBuffer()
        if (response.status === 200) answered.add(response.headers.get('x-instance') ?? '')
        return INSTANCES.every((instance) => answered.has(instance))
      }, 60_000, 50)
      await sleep(1500)
    })()
    replace.catch(() => {})
    const traffic = await runTraffic({ label: 'replace', url: base, connections: 8, rate: 200, durationSeconds: 180, until: replace, mix, runId: `c${process.pid}`, onAnswer: (o) => observations.push(o) })
    await replace
    const failures = observations.filter((o) => o.status < 200 || o.status > 299)
    const byStatus = Object.fromEntries([...new Set(failures.map((o) => o.status))].map((s) => [s, failures.filter((o) => o.status === s).length]))
    const gap = failures.length > 0 ? Math.round(Math.max(...failures.map((o) => o.atMs)) - Math.min(...failures.map((o) => o.atMs))) : 0
    say(`replace: api ${addresses.before} -> ${addresses.after}; ${failures.length} of ${traffic.summary.requests} requests failed ` +
      `${JSON.stringify(byStatus)} over ${gap} ms: stop ${addresses.stopMs} ms, new container started in ${addresses.startMs} ms, ` +
      `serving ${seconds(replacedAt)} s after the stop began`)
    t.not(addresses.after, addresses.before, 'the new container has another address')
    const tail = observations.slice(-50)
    t.ok(tail.length === 50 && tail.every((o) => o.status >= 200 && o.status < 300), 'the last 50 answers are all 2xx: nginx serves the new container')
    const { stdout } = await project.compose(['logs', '--no-color', 'nginx'])
    t.match(stdout, /nginx reloaded/, "the nginx container's watcher saw the new address and reloaded nginx")
    const seen = new Set<string>()
    for (let i = 0; i < 16; i++) seen.add((await fetch(`${base}/`).then(async (r) => { await r.arrayBuffer(); return r.headers.get('x-instance') })) ?? 'none')
    t.strictSame([...seen].sort(), INSTANCES, 'all four instances of the new container in rotation')
    await project.waitHealthy(SERVICES, 60_000)
  })

  step('scale-lab compose partition: an api container cut off under load, back after the reconnect, nothing lost or doubled, in the report', async (t) => {
    // Two api containers (scaled out for the drill and back): the other one serves meanwhile. Bounds
    // loose for a busy machine, where a request's every try can land on the lost container's
    // instances (one 502 in ~900 requests at load average 19): the verdict says so; the test
    // holds what must not move.
    const result = await lesson<DrillResult>(composePartitionLesson, { containers: '2', down: '3s', rate: '200', connections: '8', p99Within: '6s', recoverWithin: '30s' })
    say(`partition: ${result.load.errors.total} client errors of ${result.load.requests}, p99 ${result.load.latencyMs.p99} ms, verdict ${result.verdict.pass ? 'PASS' : 'FAIL'}`)
    t.strictSame(result.events.map((e) => e.type).filter((type) => type !== 'answering'), ['disconnect', 'reconnect'])
    // The cut takes the container's Redis connection with it: once reconnected, its instances answer fast 503s
    // until their Redis clients are back (66 of 1,796 in one CI run), and nginx rightly does not retry a 503.
    // What must not happen is a hang: no timeout, few 502/504s.
    const hung = Object.entries(result.load.errors.byKind).filter(([kind]) => kind !== 'non2xx:503').reduce((sum, [, n]) => sum + n, 0)
    t.ok(hung <= result.load.requests / 100, `client errors other than 503 ≤ 1%: ${JSON.stringify(result.load.errors.byKind)} of ${result.load.requests}`)
    const recovery = result.verdict.checks.find((c) => c.name.startsWith('recovery'))
    t.ok(recovery?.pass, `the container answered again after the reconnect: ${recovery?.actual}`)
    const broken = result.audit.rules.filter((rule) => isLossOrDoublingRule(rule.name) && !rule.pass)
    t.strictSame(broken, [], 'no acknowledged write lost, none applied twice')
    t.strictSame(await project.containers('api').then((c) => c.length), 1, 'scaled back to one api container')
    writeResult(out, composePartitionLesson.resultFile(parseFlags(composePartitionLesson.options, { project: project.name })), result)
    const report = await renderReport(out)
    t.strictSame(report.skipped, [])
    t.match(readFileSync(report.markdownPath, 'utf8'), `### drill compose-partition: ${result.verdict.pass ? 'PASS' : 'FAIL'}`, 'the partition verdict is in the report')
  })

  t.test('down -v leaves nothing of the project; the engine it started is stopped by PID', async (t) => {
    await project.down()
    downDone = true
    t.strictSame(await project.leftovers(), { containers: [], networks: [], volumes: [] })
    const { stopped } = await env.release()
    if (env.engine.started) {
      if (stopped) t.notOk(isAlive(env.engine.pid!), `dockerd pid ${env.engine.pid} is gone`)
      else say('another run (or docker:test-env) still holds the engine: left running for it')
    }
    say(`whole file: ${seconds(fileStarted)} s (images ${imagesSeconds} s, the rest ${Math.round(seconds(fileStarted) - imagesSeconds)} s)`)
  })
})
