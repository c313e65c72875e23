import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { promisify } from 'node:util'
import t from 'tap'
import { CLI_SCRIPT } from '../../src/lab/paths.js'
import { isListening } from '../../src/lab/system/ports.js'
import { childEnv, isAlive, waitFor } from '../../src/lab/system/process.js'
import { apiPortsOf, stackPorts } from '../../src/lab/stack/settings.js'
import { pm2Apps, pm2DaemonPid } from '../../src/lab/stack/pm2.js'
import { down, status, up } from '../../src/lab/stack/stack.js'
import { daemonPid, stackPaths } from '../../src/lab/stack/state.js'
import { startTestStack } from '../stack-helper.js'

const run = promisify(execFile)

async function get (url: string) {
  const res = await fetch(url)
  return { status: res.status, instance: res.headers.get('x-instance'), upstream: res.headers.get('x-upstream'), body: await res.json() as Record<string, unknown> }
}

async function post (url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } })
  return { status: res.status, instance: res.headers.get('x-instance'), body: await res.json() as Record<string, unknown> }
}

t.test('the stack on Redis', async (t) => {
  const stack = await startTestStack(t, { observe: true })
  const { base, settings } = stack

  t.test('nginx spreads the load (least_conn, ties in turn)', async (t) => {
    // One at a time every instance has 0 requests in flight, so every pick is a
    // tie and ties go in turn: 400 GETs are 100 per instance, give or take a few.
    const inTurn = await countInstances(400, 1)
    t.strictSame(Object.keys(inTurn).sort(), ['api-1', 'api-2', 'api-3', 'api-4'])
    for (const [instance, count] of Object.entries(inTurn)) {
      t.ok(count >= 95 && count <= 105, `one at a time: ${instance} served ${count} of 400 (100 expected)`)
    }
    // 8 at a time the split follows who answers first, which a busy machine
    // skews (30% on one instance was seen in CI); no instance is left out.
    const eightAtATime = await countInstances(400, 8)
    t.strictSame(Object.keys(eightAtATime).sort(), ['api-1', 'api-2', 'api-3', 'api-4'])
    for (const [instance, count] of Object.entries(eightAtATime)) {
      t.ok(count >= 40, `8 at a time: ${instance} served ${count} of 400 (at least 10%)`)
    }

    async function countInstances (total: number, atOnce: number): Promise<Record<string, number>> {
      const counts: Record<string, number> = {}
      for (let i = 0; i < total; i += atOnce) {
        const answers = await Promise.all(Array.from({ length: atOnce }, () => get(`${base}/`)))
        for (const a of answers) {
          t.equal(a.status, 200)
          counts[a.instance ?? 'none'] = (counts[a.instance ?? 'none'] ?? 0) + 1
        }
      }
      return counts
    }
  })

  t.test('nginx answers by itself, names the upstream, and speaks JSON for its own errors', async (t) => {
    const health = await fetch(`${base}/nginx-health`)
    t.equal(health.status, 200)
    t.strictSame(await health.json(), { status: 'ok' })
    const root = await get(`${base}/`)
    t.match(root.upstream, /^127\.0\.0\.1:\d+$/)
    t.equal(root.upstream, `127.0.0.1:${root.body.port}`, 'x-upstream is the instance that answered')
    const big = await fetch(`${base}/kv/big`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ value: 'x'.repeat(70_000) }) })
    t.equal(big.status, 413)
    t.match(await big.json(), { code: 'SL_BODY_TOO_LARGE' })
    t.notOk(health.headers.get('server')?.match(/\d/), 'server_tokens off: no version')
  })

  t.test('a POST through nginx is read back through every instance', async (t) => {
    const written = await post(`${base}/kv/shared-key`, { value: { from: 'nginx' } })
    t.equal(written.status, 201)
    for (const port of apiPortsOf(settings)) {
      const direct = await get(`http://127.0.0.1:${port}/kv/shared-key`)
      t.equal(direct.status, 200, `instance on :${port} sees it`)
      t.strictSame(direct.body, { key: 'shared-key', value: { from: 'nginx' }, version: 1 })
    }
    for (let i = 0; i < 4; i++) t.equal((await get(`${base}/kv/shared-key`)).status, 200)
  })

  t.test('nginx gives each request its own X-Request-Id; a repeat of one on another instance applies nothing', async (t) => {
    // Two client requests through nginx get two ids: both apply.
    await post(`${base}/counters/rid/incr`, {})
    await post(`${base}/counters/rid/incr`, {})
    t.equal((await get(`${base}/counters/rid`)).body.value, 2, 'distinct requests both apply')
    // What nginx's retry amounts to: the same X-Request-Id arriving at a second instance.
    const [first, second] = apiPortsOf(settings)
    const retry = { 'x-request-id': '00112233445566778899aabbccddeeff' }
    await post(`http://127.0.0.1:${first}/counters/retried/incr`, {}, retry)
    const onSecond = await fetch(`http://127.0.0.1:${second}/counters/retried/incr`, { method: 'POST', headers: retry })
    t.equal(onSecond.headers.get('idempotent-replay'), 'true', 'the second instance answers with the first one\'s result')
    t.equal((await get(`${base}/counters/retried`)).body.value, 1)
    // (The drills exercise nginx's retry itself, under kills.)
    const own = { 'idempotency-key': 'client-key-1' }
    await post(`${base}/counters/rid/incr`, {}, own)
    const again = await fetch(`${base}/counters/rid/incr`, { method: 'POST', headers: own })
    t.equal(again.headers.get('idempotent-replay'), 'true', "the client's Idempotency-Key passes through nginx")
    t.equal((await get(`${base}/counters/rid`)).body.value, 3)
  })

  t.test('SIGKILL a worker under load: PM2 restarts it and nginx keeps answering GETs', async (t) => {
    const before = await pm2Apps(stackPaths(settings.dir).pm2Home)
    const victim = before.find((a) => a.name === 'api-2')!
    const load = { stop: false }
    const statuses: number[] = []
    const clients = Array.from({ length: 8 }, async () => {
      while (!load.stop) statuses.push((await fetch(`${base}/`).then(async (r) => { await r.arrayBuffer(); return r.status }, () => 0)))
    })
    await new Promise((resolve) => setTimeout(resolve, 300))
    process.kill(victim.pid, 'SIGKILL')
    await waitFor('api-2 to be back', async () => {
      const apps = await pm2Apps(stackPaths(settings.dir).pm2Home)
      const app = apps.find((a) => a.name === 'api-2')
      return app !== undefined && app.pid !== victim.pid && app.status === 'online' &&
        (await fetch(`http://127.0.0.1:${app.port}/health/ready`).then((r) => r.ok, () => false))
    }, 10_000)
    await new Promise((resolve) => setTimeout(resolve, 300))
    load.stop = true
    await Promise.all(clients)
    const after = (await pm2Apps(stackPaths(settings.dir).pm2Home)).find((a) => a.name === 'api-2')!
    t.not(after.pid, victim.pid, 'a new process')
    t.equal(after.restarts, victim.restarts + 1, 'PM2 counted one restart')
    // What keeps a restart short (docs/stack.md): PM2's wrapper loads neither its agent nor the source map.
    const environ = readFileSync(`/proc/${after.pid}/environ`, 'utf8').split('\0')
    t.ok(environ.includes('pmx=false'), 'the restarted worker boots without PM2\'s metrics agent')
    t.ok(environ.includes('disable_source_map_support=true'), 'and without source maps')
    t.ok(statuses.length > 100, `${statuses.length} GETs during the kill`)
    t.strictSame(statuses.filter((s) => s !== 200), [], 'not one GET failed')
  })

  t.test('`status` lists the four apps and says nginx reaches all of them', async (t) => {
    const { stdout } = await run(process.execPath, [CLI_SCRIPT, 'status'], {
      env: childEnv({ STACK_DIR: settings.dir })
    })
    for (const name of ['api-1', 'api-2', 'api-3', 'api-4']) t.match(stdout, new RegExp(`^${name}\\s+online`, 'm'))
    t.match(stdout, /through nginx: 4\/4 instances answered/)
    t.match(stdout, /All good\./)
  })

  t.test('`up` again is a no-op', async (t) => {
    const apps = await pm2Apps(stackPaths(settings.dir).pm2Home)
    const again = await up(settings)
    t.equal(daemonPid(again, 'redis'), daemonPid(stack.state, 'redis'))
    t.equal(daemonPid(again, 'nginx'), daemonPid(stack.state, 'nginx'))
    t.strictSame((await pm2Apps(stackPaths(settings.dir).pm2Home)).map((a) => a.pid), apps.map((a) => a.pid), 'same app processes')
  })

  t.test('`down` leaves no process and no port behind', async (t) => {
    const paths = stackPaths(settings.dir)
    const apps = await pm2Apps(paths.pm2Home)
    const observers = ['prometheus', 'nginx-exporter', 'redis-exporter', 'watchdog'].map((name) => daemonPid(stack.state, name)!)
    const pids = [daemonPid(stack.state, 'redis')!, daemonPid(stack.state, 'nginx')!, pm2DaemonPid(paths.pm2Home)!, ...apps.map((a) => a.pid), ...observers]
    t.ok(pids.every((pid) => Number.isInteger(pid) && pid > 0), 'every PID known, the PM2 daemon included')
    const report = await down(settings.dir)
    t.strictSame(report.stopped.sort(), ['api', 'nginx', 'observe', 'redis', 'watchdog'])
    t.strictSame(report.portsInUse, [])
    for (const pid of pids) t.notOk(isAlive(pid), `pid ${pid} is gone`)
    for (const port of stackPorts(settings)) {
      t.notOk(await isListening(port), `port ${port} is free`)
    }
    t.equal((await status(settings.dir)).up, false)
  })
})
