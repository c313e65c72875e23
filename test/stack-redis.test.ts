import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { Redis } from 'ioredis'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { memoryLine } from '../src/lab/commands/stack.js'
import { credentialsFile, redisMemory, stackRedisPassword, stackRedisSpec } from '../src/lab/stack/parts/redis.js'
import { stackSettings } from '../src/lab/stack/settings.js'
import { freePort } from '../src/lab/system/ports.js'
import { redisCredentials, serviceRedisUrl } from '../src/lab/system/redis-acl.js'
import { pingRedis, withRedis } from '../src/lab/system/redis-client.js'
import { testSupervisor } from './helper.js'
import { startServer } from './server-process.js'

// The local stack's Redis is bounded (issue 15): maxmemory with noeviction, AOF
// rewrites. Full, it refuses writes, the service answers its fast 503, and nothing
// it acknowledged is lost.

t.test("the stack's Redis configuration: maxmemory (REDIS_MAXMEMORY, 512mb) with noeviction, AOF rewrites", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sl-stack-redis-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  stackRedisSpec(stackSettings({ dir }, {}))
  const conf = readFileSync(join(dir, 'redis', 'redis.conf'), 'utf8')
  t.match(conf, /^maxmemory 512mb$/m)
  t.match(conf, /^maxmemory-policy noeviction$/m)
  t.match(conf, /^auto-aof-rewrite-percentage 100$/m)
  t.match(conf, /^auto-aof-rewrite-min-size 64mb$/m)
  t.throws(() => stackSettings({}, { REDIS_MAXMEMORY: '1tb' }), { message: /REDIS_MAXMEMORY must be a size in kb, mb or gb, such as 512mb \(got "1tb"\)/ })
})

t.test('status line: used memory against the bound', async (t) => {
  t.equal(memoryLine({ usedBytes: 1.5 * 1024 * 1024, maxBytes: 512 * 1024 * 1024 }), 'memory 1.5 MB of 512.0 MB (0%)')
  t.equal(memoryLine({ usedBytes: 3 * 1024 * 1024, maxBytes: 4 * 1024 * 1024 }), 'memory 3.0 MB of 4.0 MB (75%)')
  t.equal(memoryLine({ usedBytes: 1024 * 1024, maxBytes: 0 }), 'memory 1.0 MB, unbounded')
  t.equal(memoryLine(null), 'memory unknown')
})

t.test("a full stack Redis: the service's fast 503, nothing acknowledged lost", async (t) => {
  const { supervisor, dir } = testSupervisor(t, 'sl-stack-redis-')
  const redisPort = await freePort()
  const settings = stackSettings({ dir, redisPort }, { REDIS_MAXMEMORY: '3mb' })
  await supervisor.start(stackRedisSpec(settings))
  const admin = stackRedisPassword(settings)
  t.equal((await withRedis(redisPort, (r) => r.config('GET', 'maxmemory-policy'), 1000, admin))[1], 'noeviction')
  await withRedis(redisPort, (r) => r.get('any'), 1000, admin)
  t.notMatch(await withRedis(redisPort, (r) => r.info('latencystats'), 1000, admin), /latency_percentiles_usec/,
    'no per-command latency percentiles: nothing reads them, and the exporter would make ~65 series of them')

  // Least privilege: a generated password, kept private; the service as a limited user.
  for (const file of [credentialsFile(settings), join(dir, 'redis', 'redis.conf')]) t.equal(statSync(file).mode & 0o777, 0o600, `${file}: 0600`)
  t.notOk(await pingRedis(redisPort), 'no password: refused')
  t.ok(await pingRedis(redisPort, admin), "the lab's tools: the admin password")
  const url = serviceRedisUrl(redisPort, redisCredentials(credentialsFile(settings)))
  t.match(url, /^redis:\/\/scale-lab:[0-9a-f]{48}@127\.0\.0\.1:\d+$/)
  const asService = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
  asService.on('error', () => {})
  await asService.connect()
  for (const command of [['flushall'], ['config', 'get', 'maxmemory'], ['keys', '*'], ['shutdown'], ['get', 'not-sl']]) {
    await t.rejects(asService.call(command[0]!, ...command.slice(1)), /NOPERM/, `the service's user: ${command.join(' ')} refused`)
  }
  asService.disconnect()

  const instance = await startServer(t, { STORE: 'redis', REDIS_URL: url })
  await instance.ready

  const base = `http://127.0.0.1:${instance.port}`
  const value = 'x'.repeat(16 * 1024)
  const acknowledged: string[] = []
  const statuses = new Map<number, number>()
  for (let i = 0; i < 400; i++) {
    const res = await fetch(`${base}/kv/fill-${i}`, { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': `fill-${i}` }, body: JSON.stringify({ value }) })
    const body = await res.json() as { code?: string }
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1)
    if (res.status === 201) acknowledged.push(`fill-${i}`)
    else if (body.code !== 'SL_STORE_UNAVAILABLE') t.fail(`fill-${i}: ${res.status} ${body.code}`)
  }
  t.ok(acknowledged.length > 10, `${acknowledged.length} writes fitted`)
  t.ok((statuses.get(503) ?? 0) > 0, `${statuses.get(503)} were refused with 503`)
  t.strictSame([...statuses.keys()].sort(), [201, 503], 'never a 500')
  let lost = 0
  for (const key of acknowledged) {
    const read = await fetch(`${base}/kv/${key}`)
    if (read.status !== 200 || (await read.json() as { value?: string }).value !== value) lost++
  }
  t.equal(lost, 0, `all ${acknowledged.length} acknowledged writes read back`)
  const memory = await redisMemory(redisPort, admin)
  t.equal(memory?.maxBytes, 3 * 1024 * 1024, 'the bound, as status reports it')
  t.ok(memory!.usedBytes > 2 * 1024 * 1024, `used ${memory!.usedBytes} bytes: full`)
  t.equal(await redisMemory(await freePort()), null, 'no Redis: unknown')
})
