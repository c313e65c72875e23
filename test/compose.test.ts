import { execFile } from 'node:child_process'
import { accessSync, constants, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { parse } from 'yaml'
import { STANDINS } from '../src/lab/containers/standins.js'
import { findBinary } from '../src/lab/system/binaries.js'
import { freePort } from '../src/lab/system/ports.js'
import { waitFor } from '../src/lab/system/process.js'
import { NGINX_TEMPLATE, PROJECT_DIR } from '../src/lab/paths.js'
import { EDGE_DEFAULTS, mainConfig, renderTemplate, templateValues, type NginxTemplateValues } from '../src/lab/stack/nginx.js'
import { WORK_DEFAULTS } from '../src/shared/contract.js'

// The compose files' properties, read without an engine (test/e2e/compose.test.ts
// runs them on one): what the stack promises, and that the test override and the
// stand-ins cannot drift from the user-facing file.

const run = promisify(execFile)
const file = join(PROJECT_DIR, 'docker-compose.yml')
const testFile = join(PROJECT_DIR, 'docker-compose.test.yml')
const compose = parse(readFileSync(file, 'utf8'))
const services = compose.services
const override = parse(readFileSync(testFile, 'utf8'))
/** nginx's environment as Compose gives it with no variable set: `${NAME:-default}` becomes its default. */
const nginxDefaults = Object.fromEntries(Object.entries(services.nginx.environment as Record<string, string>)
  .map(([name, value]) => [name, value.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1')]))
const dockerfile = readFileSync(join(PROJECT_DIR, 'Dockerfile'), 'utf8')
const standIn = (name: string) => STANDINS.find((s) => s.name === name)!

t.test('docker-compose config accepts the file, alone and with the test override', async (t) => {
  const binary = findBinary('docker-compose')
  t.ok(binary, "Debian's docker-compose is installed (npm run setup installs it)")
  if (!binary) return
  const env = { ...process.env, REDIS_PASSWORD: 'a-password' }
  for (const files of [[file], [file, testFile]]) {
    const { stderr } = await run(binary, [...files.flatMap((f) => ['-f', f]), 'config', '-q'], { env })
    t.equal(stderr.trim(), '', `no warnings: ${files.map((f) => f.split('/').pop()).join(' + ')}`)
  }
})

t.test('the Redis password is required: no default, a message that says what to do', async (t) => {
  const binary = findBinary('docker-compose')
  t.ok(binary, "Debian's docker-compose is installed (npm run setup installs it)")
  if (!binary) return
  const env = { ...process.env }
  delete env.REDIS_PASSWORD
  const failed = await run(binary, ['-f', file, 'config', '-q'], { env, cwd: tmpdir() }).then(() => null, (err) => err)
  t.ok(failed, 'docker-compose refuses the file')
  t.match(`${failed?.stdout}${failed?.stderr}`, /set REDIS_PASSWORD to the password Redis should require/)
  const required = /\$\{REDIS_PASSWORD:\?[^}]+\}/
  t.match(services.redis.command.join(' '), required)
  t.match(services.redis.environment.REDISCLI_AUTH, required)
  t.notMatch(readFileSync(file, 'utf8'), /REDIS_PASSWORD:-/, 'no fallback value anywhere')
})

t.test('the services the design asks for', async (t) => {
  t.strictSame(Object.keys(services).sort(), ['api', 'grafana', 'k6', 'nginx', 'prometheus', 'redis'])
})

t.test('redis: pinned 7.x, AOF, a password, a healthcheck on the reply, not published on the host', async (t) => {
  const redis = services.redis
  t.match(redis.image, /^redis:7\.\d+\.\d+/)
  t.match(redis.command.join(' '), /--appendonly yes/)
  t.match(redis.command.join(' '), /--requirepass \S+/)
  // redis-cli exits 0 on NOAUTH and LOADING: the check compares the reply.
  t.strictSame(redis.healthcheck.test, ['CMD-SHELL', '[ "$$(redis-cli ping)" = PONG ]'])
  t.notOk(redis.ports, 'no ports published')
})

t.test('api: built here, pointed at the redis service, healthy when ready, after redis is healthy', async (t) => {
  const api = services.api
  t.equal(api.build, '.')
  t.match(api.environment.REDIS_URL, /^redis:\/\/:\$\{REDIS_PASSWORD\}@redis:6379$/)
  t.match(api.healthcheck.test.join(' '), /\/health\/ready/)
  t.strictSame(api.depends_on, { redis: { condition: 'service_healthy' } })
  t.equal(api.environment.TRUST_PROXY, services.nginx.networks.lab.ipv4_address, 'trusts exactly the balancer')
  t.match(dockerfile, /AS build[\s\S]*npm ci[\s\S]*^RUN node scripts\/bundle-server\.js$/m, 'a build stage with dev dependencies that bundles the service')
  t.notMatch(dockerfile, /^RUN .*(npm run build|tsc)/m, 'no tsc in the image: type-checking is npm test\'s job, the image runs the bundle alone')
  t.match(dockerfile, /npm ci --omit=dev/, 'a run stage with production dependencies only')
  t.match(dockerfile, /^USER node$/m, 'runs as a non-root user')
  t.match(dockerfile, /pm2-runtime", "ecosystem\.config\.js"/, 'pm2-runtime with the same ecosystem file')
})

t.test('nginx: pinned, publishes LB_PORT (80), after the api is healthy, mounts the template the local stack renders', async (t) => {
  const nginx = services.nginx
  t.match(nginx.image, /^nginx:\d+\.\d+\.\d+/)
  t.strictSame(nginx.ports, ['$' + '{LB_PORT:-80}:80'], 'the port from LB_PORT, 80 by default')
  t.strictSame(nginx.depends_on, { api: { condition: 'service_healthy' } })
  const [source, target] = nginx.volumes[0].split(':')
  t.equal(resolve(PROJECT_DIR, source), NGINX_TEMPLATE, 'the very file `scale-lab up` renders')
  t.equal(target, '/etc/nginx/templates/default.conf.template', 'rendered by the image over its default server')
})

t.test("nginx: healthy only when an instance answers through it, and it follows the api's address", async (t) => {
  const nginx = services.nginx
  const check = nginx.healthcheck.test.join(' ')
  t.match(check, /http:\/\/127\.0\.0\.1\/health\/ready/, "an instance's readiness, through the balancer")
  t.notMatch(check, /nginx-health/, "not nginx's own answer")
  const [source, target] = nginx.volumes[1].split(':')
  t.match(target, /^\/docker-entrypoint\.d\/\d+-[\w-]+\.sh$/, "run by the image's entrypoint before nginx starts")
  t.doesNotThrow(() => accessSync(resolve(PROJECT_DIR, source), constants.X_OK), 'executable (the entrypoint skips other files)')
  const named = [...nginx.environment.SL_UPSTREAM_SERVERS.matchAll(/server ([\w.-]+):\d+/g)].map((m) => m[1])
  t.strictSame([...new Set(named)], nginx.environment.SL_UPSTREAM_HOSTS.split(' '), 'the watcher follows the hosts the upstream names')
})

t.test('Dockerfile: the base image is a build argument, and no `# syntax=` line (BuildKit would fetch it)', async (t) => {
  t.notMatch(dockerfile, /^#\s*syntax=/m)
  const firstFrom = dockerfile.search(/^FROM /m)
  t.match(dockerfile.slice(0, firstFrom), /^ARG NODE_IMAGE=node:20\.20-bookworm-slim$/m, 'declared before the first FROM, the official image by default')
  const froms = dockerfile.match(/^FROM .*/gm) ?? []
  t.ok(froms.length >= 2 && froms.every((line) => line.startsWith('FROM $' + '{NODE_IMAGE} AS ')), froms.join(' | '))
})

t.test('docker-compose.test.yml: the stand-ins for exactly the images the stack names', async (t) => {
  const overridden = override.services
  t.equal(overridden.redis.image, standIn('redis').tag)
  t.equal(standIn('redis').replaces, services.redis.image)
  t.equal(overridden.nginx.image, standIn('nginx').tag)
  t.equal(standIn('nginx').replaces, services.nginx.image)
  t.equal(overridden.api.build.args.NODE_IMAGE, standIn('node').tag)
  t.equal(`ARG NODE_IMAGE=${standIn('node').replaces}`, /^ARG NODE_IMAGE=.*$/m.exec(dockerfile)?.[0])
  t.notOk(overridden.nginx.ports, 'the port comes from LB_PORT in docker-compose.yml (compose adds ports, never replaces them)')
  t.equal(overridden.api.environment.TRUST_PROXY, overridden.nginx.networks.lab.ipv4_address, 'still trusts exactly the balancer')
})

t.test("nginx: the container's values are what the renderer gives for the container", async (t) => {
  const env = nginxDefaults
  const expected = templateValues({
    listen: '80',
    upstreams: ['api:3001', 'api:3002', 'api:3003', 'api:3004'],
    keepalive: 256,
    retryNonIdempotent: true,
    passiveHealth: true,
    retryShed: false,
    // The api container runs with the service's defaults.
    workMaxConns: WORK_DEFAULTS.concurrency,
    accessLogFile: '/var/log/nginx/access.log',
    statusListen: '127.0.0.1:8081',
    edge: { ...EDGE_DEFAULTS, knownHosts: [...EDGE_DEFAULTS.knownHosts, 'nginx'], upstreamHeader: false }
  })
  const squash = (s: string) => s.replace(/\s+/g, ' ').trim()
  for (const [name, value] of Object.entries(expected)) t.equal(squash(env[name] ?? ''), squash(value), name)
  t.equal(env.NGINX_ENVSUBST_FILTER, '^SL_', "only our variables: nginx's own $vars stay untouched")
})

t.test("the container's rendering is a valid nginx configuration (nginx -t)", async (t) => {
  const nginx = findBinary('nginx')
  t.ok(nginx, 'nginx is installed (npm run setup installs it)')
  if (!nginx) return
  const env = nginxDefaults as unknown as NginxTemplateValues
  const port = await freePort()
  // The same values, with the container's hostnames and port swapped for local ones.
  const local = { ...env, SL_LISTEN: `127.0.0.1:${port}`, SL_UPSTREAM_SERVERS: env.SL_UPSTREAM_SERVERS.replaceAll('api:', '127.0.0.1:'), SL_WORK_UPSTREAM_SERVERS: env.SL_WORK_UPSTREAM_SERVERS.replaceAll('api:', '127.0.0.1:'), SL_ACCESS_LOG: 'off' }
  const prefix = mkdtempSync(join(tmpdir(), 'sl-nginx-t-'))
  t.teardown(() => rmSync(prefix, { recursive: true, force: true }))
  const { mkdirSync, writeFileSync } = await import('node:fs')
  for (const dir of ['conf', 'logs', 'temp']) mkdirSync(join(prefix, dir))
  writeFileSync(join(prefix, 'conf', 'scale-lab.conf'), renderTemplate(local))
  writeFileSync(join(prefix, 'conf', 'nginx.conf'), mainConfig(prefix))
  const result = await run(nginx, ['-t', '-p', prefix, '-c', join(prefix, 'conf', 'nginx.conf')])
  t.match(result.stderr, /syntax is ok/)
})

t.test('k6: on demand (load profile), mounting k6/, aimed at nginx', async (t) => {
  const k6 = services.k6
  t.match(k6.image, /^grafana\/k6:\d+\.\d+\.\d+$/)
  t.strictSame(k6.profiles, ['load'])
  t.ok(k6.volumes.includes('./k6:/scripts:ro'))
  t.equal(k6.environment.BASE_URL, 'http://nginx')
})

t.test("nginx's address watcher: reloads nginx when the api's addresses change, and only then", async (t) => {
  const { spawn } = await import('node:child_process')
  const { writeFileSync, chmodSync, existsSync } = await import('node:fs')
  const { setTimeout: sleep } = await import('node:timers/promises')
  // Stand-ins for getent (the addresses in a file) and nginx (each call logged; -t fails on demand).
  const dir = mkdtempSync(join(tmpdir(), 'sl-watcher-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const addresses = (list: string[]) => writeFileSync(join(dir, 'addresses'), list.map((a) => `${a}      STREAM api\n`).join(''))
  const calls = () => existsSync(join(dir, 'nginx.log')) ? readFileSync(join(dir, 'nginx.log'), 'utf8').trim().split('\n') : []
  writeFileSync(join(dir, 'getent'), `#!/bin/sh\n[ -s "${dir}/addresses" ] || exit 2\ncat "${dir}/addresses"\n`)
  writeFileSync(join(dir, 'nginx'), `#!/bin/sh\necho "$*" >> "${dir}/nginx.log"\n[ "$1" != -t ] || [ ! -e "${dir}/refuse" ]\n`)
  for (const tool of ['getent', 'nginx']) chmodSync(join(dir, tool), 0o755)
  addresses(['172.28.0.2'])

  const script = join(PROJECT_DIR, services.nginx.volumes[1].split(':')[0])
  const child = spawn('sh', [script], {
    detached: true, // its own process group: the watcher it leaves behind is stopped with it
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, SL_UPSTREAM_HOSTS: 'api', SL_RESOLVE_EVERY: '0.1' }
  })
  let output = ''
  child.stdout.on('data', (chunk) => { output += chunk })
  t.teardown(() => { try { process.kill(-child.pid!, 'SIGTERM') } catch {} })
  const reloads = () => calls().filter((c) => c === '-s reload').length

  const testsOfTheConfig = () => calls().filter((c) => c === '-t -q').length
  await waitFor('the watcher to start', () => /following api/.test(output), 5000)
  t.match(output, /following api \(now: 172\.28\.0\.2\) every 0\.1s/)
  await sleep(500)
  t.equal(calls().length, 0, 'the same address: nginx left alone')
  addresses([])
  await sleep(500)
  t.equal(calls().length, 0, 'unresolved (the container is being replaced): nginx keeps what it has')
  writeFileSync(join(dir, 'refuse'), '')
  addresses(['172.28.0.5'])
  await waitFor('nginx -t', () => testsOfTheConfig() >= 2, 5000)
  t.equal(reloads(), 0, 'a configuration nginx -t refuses is not reloaded (the master would refuse it)...')
  rmSync(join(dir, 'refuse'))
  await waitFor('a reload', () => /api moved from 172\.28\.0\.2 to 172\.28\.0\.5: nginx reloaded/.test(output), 5000)
  t.equal(reloads(), 1, '...and is once it passes')
  addresses(['172.28.0.6', '172.28.0.5'])
  await waitFor('a second reload', () => /to 172\.28\.0\.5 172\.28\.0\.6: nginx reloaded/.test(output), 5000)
  t.equal(reloads(), 2, 'a second container (scaled): every address, sorted, one reload')
  await sleep(500)
  t.equal(reloads(), 2, 'and no reload while nothing changes')
})
