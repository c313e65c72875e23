import { hostname } from 'node:os'
import t from 'tap'
import { ConfigError, loadConfig, sentinelList, trustedProxies } from '../src/config.js'

t.test('defaults make a runnable configuration', async (t) => {
  const config = loadConfig({})
  t.equal(config.HOST, '127.0.0.1', 'only this machine, unless told otherwise (containers set 0.0.0.0)')
  t.equal(config.PORT, 3000)
  t.equal(config.STORE, 'redis')
  t.equal(config.REDIS_URL, 'redis://127.0.0.1:6379')
  t.equal(config.LOG_LEVEL, 'info')
  t.equal(config.INSTANCE_ID, `${hostname()}:3000`, 'instance id defaults to <hostname>:<port>')
  t.strictSame(trustedProxies(config), ['127.0.0.1'])
})

t.test('values come from the environment, typed', async (t) => {
  const config = loadConfig({ PORT: '3004', STORE: 'memory', INSTANCE_ID: 'api-4', TRUST_PROXY: '10.0.0.1, 10.0.1.0/24' })
  t.equal(config.PORT, 3004)
  t.equal(config.STORE, 'memory')
  t.equal(config.INSTANCE_ID, 'api-4')
  t.strictSame(trustedProxies(config), ['10.0.0.1', '10.0.1.0/24'])
  t.equal(trustedProxies({ TRUST_PROXY: '' }), false, 'empty trusts nobody')
  t.strictSame(trustedProxies(loadConfig({ TRUST_PROXY: '::1,fd00::/8' })), ['::1', 'fd00::/8'], 'IPv6 too')
})

t.test('a bad value stops the boot with a message naming the variable', async (t) => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ PORT: 'eighty' }, /PORT must be integer/],
    [{ PORT: '70000' }, /PORT must be <= 65535/],
    [{ STORE: 'postgres' }, /STORE must be equal to one of the allowed values/],
    [{ REDIS_URL: 'localhost:6379' }, /REDIS_URL must match pattern/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL/],
    [{ SHUTDOWN_GRACE_MS: '10' }, /SHUTDOWN_GRACE_MS must be >= 100/],
    [{ INSTANCE_ID: 'has space' }, /INSTANCE_ID must match pattern/],
    [{ SHUTDOWN_GRACE_MS: '600000' }, /SHUTDOWN_GRACE_MS must be <= 60000/],
    [{ HOST: '' }, /HOST must NOT have fewer than 1 characters/],
    [{ TRUST_PROXY: '10.0.0.300' }, /TRUST_PROXY: "10\.0\.0\.300" is not an IP address/],
    [{ TRUST_PROXY: 'true' }, /TRUST_PROXY: "true"/],
    [{ TRUST_PROXY: '127.0.0.1,0.0.0.0/0' }, /TRUST_PROXY: "0\.0\.0\.0\/0"/],
    [{ TRUST_PROXY: '10.0.0.0/33' }, /TRUST_PROXY: "10\.0\.0\.0\/33"/]
  ]
  for (const [env, message] of cases) {
    t.throws(() => loadConfig(env), { name: 'ConfigError', message }, JSON.stringify(env))
  }
  t.ok(new ConfigError('x') instanceof Error)
})

t.test('Redis: single by default; sentinel mode needs its Sentinels as host:port', async (t) => {
  const single = loadConfig({})
  t.match(single, { REDIS_MODE: 'single', REDIS_MASTER_NAME: 'scale-lab', REDIS_DURABLE: '0', REDIS_DURABLE_TIMEOUT_MS: 100 })
  t.strictSame(sentinelList(single), [], 'no Sentinels outside sentinel mode')
  t.strictSame(sentinelList({ REDIS_MODE: 'single', REDIS_SENTINELS: '127.0.0.1:26379' }), [], 'even when some are listed')

  const sentinel = loadConfig({ REDIS_MODE: 'sentinel', REDIS_SENTINELS: '127.0.0.1:26379, redis-s2:26380,[::1]:26381', REDIS_MASTER_NAME: 'orders', REDIS_DURABLE: '1', REDIS_DURABLE_TIMEOUT_MS: '250' })
  t.strictSame(sentinelList(sentinel), [{ host: '127.0.0.1', port: 26379 }, { host: 'redis-s2', port: 26380 }, { host: '::1', port: 26381 }])
  t.match(sentinel, { REDIS_MASTER_NAME: 'orders', REDIS_DURABLE: '1', REDIS_DURABLE_TIMEOUT_MS: 250 })

  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ REDIS_MODE: 'cluster' }, /REDIS_MODE must be equal to one of the allowed values/],
    [{ REDIS_MODE: 'sentinel' }, /REDIS_SENTINELS: sentinel mode needs the Sentinels/],
    [{ REDIS_MODE: 'sentinel', REDIS_SENTINELS: ' ' }, /REDIS_SENTINELS: sentinel mode needs the Sentinels/],
    [{ REDIS_MODE: 'sentinel', REDIS_SENTINELS: '127.0.0.1' }, /REDIS_SENTINELS: "127\.0\.0\.1" is not host:port/],
    [{ REDIS_MODE: 'sentinel', REDIS_SENTINELS: 'a:26379,b:0' }, /REDIS_SENTINELS: "b:0" is not host:port/],
    [{ REDIS_MODE: 'sentinel', REDIS_SENTINELS: 'a:70000' }, /"a:70000" is not host:port/],
    [{ REDIS_MODE: 'sentinel', REDIS_SENTINELS: 'a:1,,b:2' }, /"" is not host:port/],
    [{ REDIS_MASTER_NAME: 'has space' }, /REDIS_MASTER_NAME must match pattern/],
    [{ REDIS_DURABLE: 'yes' }, /REDIS_DURABLE must be equal to one of the allowed values/],
    [{ REDIS_DURABLE_TIMEOUT_MS: '400' }, /REDIS_DURABLE_TIMEOUT_MS must be <= 300/],
    [{ REDIS_DURABLE_TIMEOUT_MS: '0' }, /REDIS_DURABLE_TIMEOUT_MS must be >= 1/]
  ]
  for (const [env, message] of cases) {
    t.throws(() => loadConfig(env), { name: 'ConfigError', message }, JSON.stringify(env))
  }
})
