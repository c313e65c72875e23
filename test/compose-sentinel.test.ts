import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { parse } from 'yaml'
import { DEFAULT_REDIS_MASTER_NAME } from '../src/shared/contract.js'
import { PROJECT_DIR } from '../src/lab/paths.js'
import { findBinary } from '../src/lab/system/binaries.js'
import { majorityOf, TOPOLOGY_DEFAULTS } from '../src/lab/system/redis-topology.js'

// docker-compose.sentinel.yml over docker-compose.yml, as docker-compose merges
// them (`config`: no engine needed): the replicated topology the local stack runs
// in sentinel mode — a primary, two replicas, three Sentinels, the api through them.

const run = promisify(execFile)
const files = ['docker-compose.yml', 'docker-compose.sentinel.yml'].map((f) => join(PROJECT_DIR, f))
const PASSWORD = 'a-password'

interface Service {
  image?: string
  command?: string[]
  environment?: Record<string, string>
  depends_on?: Record<string, { condition: string }>
  healthcheck?: { test: string[] }
  volumes?: string[]
}

t.test('the sentinel override: a primary, 2 replicas, 3 Sentinels, the api in sentinel mode', async (t) => {
  const binary = findBinary('docker-compose')
  t.ok(binary, "Debian's docker-compose is installed (npm run setup installs it)")
  if (!binary) return
  const env = { ...process.env, REDIS_PASSWORD: PASSWORD }
  const { stdout, stderr } = await run(binary, [...files.flatMap((f) => ['-f', f]), 'config'], { env })
  t.equal(stderr.trim(), '', 'docker-compose config accepts the pair, no warnings')
  const services = parse(stdout).services as Record<string, Service>
  t.strictSame(Object.keys(services).sort(), ['api', 'grafana', 'k6', 'nginx', 'prometheus', 'redis', 'redis-replica-1', 'redis-replica-2', 'sentinel-1', 'sentinel-2', 'sentinel-3'])

  const data = ['redis', 'redis-replica-1', 'redis-replica-2']
  for (const name of data) {
    const s = services[name]!
    const args = s.command!.join(' ')
    t.equal(s.image, services.redis!.image, `${name}: the same Redis image`)
    t.match(args, /--appendonly yes/, `${name}: AOF`)
    t.match(args, `--requirepass ${PASSWORD} --masterauth ${PASSWORD}`, `${name}: a password, and the primary's (any node may be a replica after a failover)`)
    t.match(args, `--replica-announce-ip ${name}`, `${name}: known by its service name`)
    t.ok(s.volumes?.some((v) => v.endsWith(':/data:rw')), `${name}: its data in a volume`)
  }
  t.notMatch(services.redis!.command!.join(' '), /--replicaof/, 'redis is the first primary')
  for (const name of data.slice(1)) t.match(services[name]!.command!.join(' '), /--replicaof redis 6379/, `${name} replicates it`)

  const sentinels = Object.keys(services).filter((n) => n.startsWith('sentinel-'))
  t.equal(sentinels.length, TOPOLOGY_DEFAULTS.sentinels)
  for (const name of sentinels) {
    const s = services[name]!
    const script = s.command!.join(' ')
    t.equal(s.image, services.redis!.image)
    t.match(script, new RegExp(`sentinel monitor ${DEFAULT_REDIS_MASTER_NAME} redis 6379 ${majorityOf(sentinels.length)}\\n`), `${name}: watches redis, quorum a majority`)
    t.match(script, `sentinel down-after-milliseconds ${DEFAULT_REDIS_MASTER_NAME} ${TOPOLOGY_DEFAULTS.downAfterMs}\n`, `${name}: the local stack's down-after`)
    t.match(script, `sentinel failover-timeout ${DEFAULT_REDIS_MASTER_NAME} ${TOPOLOGY_DEFAULTS.failoverTimeoutMs}\n`)
    t.match(script, /sentinel auth-pass scale-lab \$\$REDIS_PASSWORD\n/, 'the password from its environment, not written into the file')
    t.match(script, /requirepass \$\$REDIS_PASSWORD\nsentinel sentinel-pass \$\$REDIS_PASSWORD\n/, `${name}: requires the password, and gives it to the other Sentinels`)
    t.equal(s.environment?.REDIS_PASSWORD, PASSWORD)
    t.equal(s.environment?.REDISCLI_AUTH, PASSWORD, 'its healthcheck authenticates')
    t.match(script, /exec redis-server \/data\/sentinel\.conf --sentinel/, 'a config file it can rewrite, in its volume')
    t.strictSame(s.depends_on, { 'redis-replica-1': { condition: 'service_healthy' }, 'redis-replica-2': { condition: 'service_healthy' } })
    t.match(s.healthcheck?.test.join(' '), /num-slaves.*grep -qx 2/, 'healthy once it knows both replicas')
    t.match(s.healthcheck?.test.join(' '), `sentinel debug ping-period ${TOPOLOGY_DEFAULTS.pingPeriodMs} `, `${name}: the local stack's ping period, set again after any restart`)
  }

  const api = services.api!
  t.equal(api.environment?.REDIS_MODE, 'sentinel')
  t.strictSame(api.environment?.REDIS_SENTINELS?.split(','), sentinels.map((n) => `${n}:26379`), 'every Sentinel')
  t.equal(api.environment?.REDIS_MASTER_NAME, DEFAULT_REDIS_MASTER_NAME)
  t.equal(api.environment?.REDIS_DURABLE, '0', 'durable mode off unless REDIS_DURABLE=1')
  t.match(api.environment?.REDIS_URL, `:${PASSWORD}@`, "the data nodes' password, as in single mode")
  t.equal(api.environment?.REDIS_SENTINEL_PASSWORD, PASSWORD, "and the Sentinels'")
  for (const name of sentinels) t.strictSame(api.depends_on?.[name], { condition: 'service_healthy' }, `the api waits for ${name}`)

  const durable = await run(binary, [...files.flatMap((f) => ['-f', f]), 'config'], { env: { ...env, REDIS_DURABLE: '1' } })
  t.equal((parse(durable.stdout).services as Record<string, Service>).api!.environment?.REDIS_DURABLE, '1', 'REDIS_DURABLE=1 turns durable mode on')
})
