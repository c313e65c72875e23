import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import { buildApp, type App, type BuildOptions } from '../src/app.js'
import { loadConfig, type Config } from '../src/config.js'
import { onInterrupt } from '../src/lab/system/interrupt.js'
import { freePort } from '../src/lab/system/ports.js'
import { withRedis } from '../src/lab/system/redis-client.js'
import { redisServerSpec } from '../src/lab/system/redis-server.js'
import { Supervisor } from '../src/lab/system/supervisor.js'

/** A redis-server of the test's own, on a free port (never the machine's 6379). */
export interface TestRedis {
  port: number
  url: string
  flush (): Promise<void>
  /** Stops it (SIGTERM) and waits until it is gone. */
  stop (): Promise<void>
  /** Starts it again on the same port. */
  start (): Promise<void>
  /** The running redis-server's PID (to pause it, say). */
  pid (): number | undefined
}

/**
 * A supervisor of the test's own (attached: its processes belong to the test file's
 * process) and a temporary folder for them: everything it started is stopped and
 * the folder removed in teardown, pass or fail, and if tap ends the file early (its
 * timeout's SIGTERM).
 */
export function testSupervisor (t: Test, folderPrefix: string): { supervisor: Supervisor, dir: string } {
  const dir = mkdtempSync(join(tmpdir(), folderPrefix))
  const supervisor = new Supervisor({ detached: false })
  const unregister = onInterrupt(() => supervisor.stop().then(() => {}))
  t.teardown(async () => {
    await supervisor.stop()
    unregister()
    rmSync(dir, { recursive: true, force: true })
  })
  return { supervisor, dir }
}

/** Starts a Redis for this test file (or only picks its port, with `start: false`) and stops it at the end. */
export async function startTestRedis (t: Test, { start = true } = {}): Promise<TestRedis> {
  const port = await freePort()
  const { supervisor, dir } = testSupervisor(t, 'scale-lab-redis-')
  let pid: number | undefined
  const redis: TestRedis = {
    port,
    url: `redis://127.0.0.1:${port}`,
    async flush () { await withRedis(port, (client) => client.flushall()) },
    async stop () {
      await supervisor.stop()
      pid = undefined
    },
    async start () {
      pid = (await supervisor.start(redisServerSpec({ port, dir, appendonly: false }))).pid
    },
    pid: () => pid
  }
  if (start) await redis.start()
  return redis
}

/** The configuration tests build apps with: quiet, on a given store. */
export function testConfig (overrides: Partial<Record<keyof Config, string>> = {}): Config {
  // No final-scrape wait (METRICS_FINAL_SCRAPE_MS): a test that scrapes and then closes its app would wait for a scrape that never comes.
  return loadConfig({ LOG_LEVEL: 'silent', INSTANCE_ID: 'test-1', METRICS_FINAL_SCRAPE_MS: '0', ...overrides })
}

/** Builds the app (not listening), ready for inject(); closed in teardown. */
export async function build (t: Test, overrides: Partial<Record<keyof Config, string>> = {}, options: BuildOptions = {}): Promise<App> {
  const app = await buildApp(testConfig(overrides), options)
  t.teardown(() => app.close())
  await app.ready()
  return app
}

/** POSTs JSON through inject. */
export function postJson (app: App, url: string, body: unknown, headers: Record<string, string> = {}) {
  return app.inject({ method: 'POST', url, payload: body as object, headers: { 'content-type': 'application/json', ...headers } })
}

/** The settings an app on one store is built with: the store, and the test's Redis. */
export interface StoreConfig { STORE: 'redis' | 'memory', REDIS_URL: string }

/**
 * Declares `tests` once per store, each store a subtest of its own: what a route
 * does must hold on Redis and on the memory store alike. Redis is flushed before
 * every test, so each starts from nothing, as an app on the memory store does.
 */
export function onEachStore (t: Test, redis: TestRedis, tests: (t: Test, config: StoreConfig) => void): void {
  for (const store of ['redis', 'memory'] as const) {
    t.test(`${store} store`, async (t) => {
      t.beforeEach(() => redis.flush())
      tests(t, { STORE: store, REDIS_URL: redis.url })
    })
  }
}
