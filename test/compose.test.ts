import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { parse } from 'yaml'
import { findBinary } from '../src/lab/system/binaries.js'
import { freePort } from '../src/lab/system/ports.js'
import { NGINX_TEMPLATE, PROJECT_DIR } from '../src/lab/paths.js'
import { mainConfig, renderTemplate, templateValues, type NginxTemplateValues } from '../src/lab/stack/nginx.js'

// No Docker engine runs here: the compose file is validated by docker-compose and
// its properties asserted by reading it. The README says so.

const run = promisify(execFile)
const file = join(PROJECT_DIR, 'docker-compose.yml')
const compose = parse(readFileSync(file, 'utf8'))
const services = compose.services

t.test('docker-compose config accepts the file', async (t) => {
  const binary = findBinary('docker-compose')
  t.ok(binary, "Debian's docker-compose is installed (npm run setup installs it)")
  if (!binary) return
  const { stderr } = await run(binary, ['-f', file, 'config', '-q'])
  t.equal(stderr.trim(), '', 'no warnings')
})

t.test('the services the design asks for', async (t) => {
  t.strictSame(Object.keys(services).sort(), ['api', 'k6', 'nginx', 'redis'])
})

t.test('redis: pinned 7.x, AOF, a password, a healthcheck, not published on the host', async (t) => {
  const redis = services.redis
  t.match(redis.image, /^redis:7\.\d+\.\d+/)
  t.match(redis.command.join(' '), /--appendonly yes/)
  t.match(redis.command.join(' '), /--requirepass \S+/)
  t.ok(redis.healthcheck?.test, 'healthcheck')
  t.notOk(redis.ports, 'no ports published')
})

t.test('api: built here, pointed at the redis service, healthy when ready, after redis is healthy', async (t) => {
  const api = services.api
  t.equal(api.build, '.')
  t.match(api.environment.REDIS_URL, /^redis:\/\/:[^@]+@redis:6379$/)
  t.match(api.healthcheck.test.join(' '), /\/health\/ready/)
  t.strictSame(api.depends_on, { redis: { condition: 'service_healthy' } })
  t.equal(api.environment.TRUST_PROXY, services.nginx.networks.lab.ipv4_address, 'trusts exactly the balancer')
  const dockerfile = readFileSync(join(PROJECT_DIR, 'Dockerfile'), 'utf8')
  t.match(dockerfile, /AS build[\s\S]*npm ci[\s\S]*npm run build/, 'a build stage with dev dependencies')
  t.match(dockerfile, /npm ci --omit=dev/, 'a run stage with production dependencies only')
  t.match(dockerfile, /^USER node$/m, 'runs as a non-root user')
  t.match(dockerfile, /pm2-runtime", "ecosystem\.config\.js"/, 'pm2-runtime with the same ecosystem file')
})

t.test('nginx: pinned, publishes 80, after the api is healthy, mounts the template the local stack renders', async (t) => {
  const nginx = services.nginx
  t.match(nginx.image, /^nginx:\d+\.\d+\.\d+/)
  t.strictSame(nginx.ports, ['80:80'])
  t.strictSame(nginx.depends_on, { api: { condition: 'service_healthy' } })
  const [source, target] = nginx.volumes[0].split(':')
  t.equal(resolve(PROJECT_DIR, source), NGINX_TEMPLATE, 'the very file `scale-lab up` renders')
  t.equal(target, '/etc/nginx/templates/default.conf.template', 'rendered by the image over its default server')
})

t.test("nginx: the container's values are what the renderer gives for the container", async (t) => {
  const env = services.nginx.environment as Record<string, string>
  const expected = templateValues({
    listen: '80',
    upstreams: ['api:3001', 'api:3002', 'api:3003', 'api:3004'],
    keepalive: 256,
    retryNonIdempotent: true,
    accessLogFile: '/var/log/nginx/access.log'
  })
  const squash = (s: string) => s.replace(/\s+/g, ' ').trim()
  for (const [name, value] of Object.entries(expected)) t.equal(squash(env[name] ?? ''), squash(value), name)
  t.equal(env.NGINX_ENVSUBST_FILTER, '^SL_', "only our variables: nginx's own $vars stay untouched")
})

t.test("the container's rendering is a valid nginx configuration (nginx -t)", async (t) => {
  const nginx = findBinary('nginx')
  t.ok(nginx, 'nginx is installed (npm run setup installs it)')
  if (!nginx) return
  const env = services.nginx.environment as NginxTemplateValues
  const port = await freePort()
  // The same values, with the container's hostnames and port swapped for local ones.
  const local = { ...env, SL_LISTEN: `127.0.0.1:${port}`, SL_UPSTREAM_SERVERS: env.SL_UPSTREAM_SERVERS.replaceAll('api:', '127.0.0.1:'), SL_ACCESS_LOG: 'off' }
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
