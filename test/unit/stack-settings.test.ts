import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import t from 'tap'
import { PROJECT_DIR } from '../../src/lab/paths.js'
import { apiPortsOf, appNames, settingsOverRunning, stackDir, stackPorts, stackSettings, StackEnvSchema } from '../../src/lab/stack/settings.js'
import { NEXT_UPSTREAM_DEFAULT, NEXT_UPSTREAM_WITH_RETRY, renderTemplate, templateValues } from '../../src/lab/stack/nginx.js'
import { balancerOptions } from '../../src/lab/stack/parts/nginx.js'
import { readState, stackSupervisor } from '../../src/lab/stack/state.js'

t.test('stack settings: the design card by default, the environment over it', async (t) => {
  const defaults = stackSettings({}, {})
  t.match(defaults, { lbPort: 80, redisPort: 6379, apiBasePort: 3001, instances: 4, store: 'redis', logLevel: 'warn', appendfsync: 'everysec', accessLog: true, retryNonIdempotent: true, keepalive: 256 })
  t.match(defaults.dir, /\.stack$/)
  t.strictSame(apiPortsOf(defaults), [3001, 3002, 3003, 3004])
  t.strictSame(appNames(defaults), ['api-1', 'api-2', 'api-3', 'api-4'])
  const env = stackSettings({}, { LB_PORT: '8080', REDIS_PORT: '6380', API_BASE_PORT: '4001', INSTANCES: '2', STORE: 'memory', BENCH: '1', STACK_DIR: '/tmp/x' })
  t.match(env, { lbPort: 8080, redisPort: 6380, apiBasePort: 4001, instances: 2, store: 'memory', accessLog: false, dir: '/tmp/x' })
  t.strictSame(stackPorts(env), [8080, 6380, 8081, 4001, 4002, 9090, 9113, 9121], 'every port the stack listens on')
  t.strictSame(stackPorts({ ...env, observe: false }), [8080, 6380, 8081, 4001, 4002], 'OBSERVE=0: no Prometheus, no exporters')
  t.equal(stackSettings({}, { LB_PORT: '', BENCH: '0' }).lbPort, 80, 'an empty variable counts as unset')
  t.equal(stackDir({ STACK_DIR: 'rel/dir', LB_PORT: 'bad' }), join(process.cwd(), 'rel/dir'), 'the state folder alone, whatever else is set')
})

t.test('over a running stack, the ports the environment does not set stay those it runs on', async (t) => {
  const running = stackSettings({}, { LB_PORT: '8080', REDIS_PORT: '6380', API_BASE_PORT: '4001' })
  t.match(settingsOverRunning(running, {}, { STORE: 'memory' }), { lbPort: 8080, redisPort: 6380, apiBasePort: 4001, store: 'memory' })
  t.match(settingsOverRunning(running, { instances: 2 }, { LB_PORT: '9080' }), { lbPort: 9080, redisPort: 6380, instances: 2 })
  t.match(settingsOverRunning(null, {}, {}), { lbPort: 80 }, 'nothing running: the defaults')
})

t.test('docs/stack.md lists every stack variable with its default', async (t) => {
  const docs = readFileSync(join(PROJECT_DIR, 'docs', 'stack.md'), 'utf8')
  for (const [variable, schema] of Object.entries(StackEnvSchema.properties)) {
    const fallback = String((schema as { default?: unknown }).default)
    const shown = variable === 'STACK_DIR' ? relative(PROJECT_DIR, fallback) : fallback
    t.match(docs, `| \`${variable}\` | \`${shown}\` |`, `${variable}, default ${shown}`)
  }
})

t.test('a state.json written before the supervisor: its daemons are adopted, so down still stops them', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sl-state-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const settings = stackSettings({ dir }, {})
  // Above Linux's largest PID (2^22): no process can have these.
  const [redisPid, nginxPid] = [2 ** 22 + 1, 2 ** 22 + 2]
  writeFileSync(join(dir, 'state.json'), JSON.stringify({ settings, redisPid, nginxPid, upAt: 'then' }))
  const state = readState(dir)!
  t.match(state.daemons, {
    redis: { name: 'redis', role: 'store', pid: redisPid, startTime: null, stopSignal: 'SIGTERM' },
    nginx: { name: 'nginx', role: 'balancer', pid: nginxPid, startTime: null, stopSignal: 'SIGQUIT' }
  })
  t.notOk('redisPid' in state)
  const supervisor = stackSupervisor(state)
  t.notOk(supervisor.isRunning('redis'), 'no such process')
  t.strictSame(await supervisor.stop(), [], 'stopping what no longer runs is fine')
})

t.test('stack settings: bad values are refused with the variable named', async (t) => {
  t.throws(() => stackSettings({}, { LB_PORT: 'eighty' }), { name: 'SettingsError', message: 'LB_PORT must be an integer from 1 to 65535 (got "eighty")' })
  t.throws(() => stackSettings({}, { INSTANCES: '0' }), { message: /INSTANCES must be an integer from 1 to 16/ })
  t.throws(() => stackSettings({}, { STORE: 'mongo' }), { message: /STORE must be one of redis, memory/ })
  t.throws(() => stackSettings({}, { LB_PORT: '3002' }), { message: /port 3002 is given to two parts/ })
  t.throws(() => stackSettings({}, { REDIS_PORT: '80' }), { message: /port 80 is given to two parts/ })
  t.throws(() => stackSettings({}, { LOG_LEVEL: 'loud', BENCH: 'yes' }), { message: /LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent \(got "loud"\); BENCH must be one of 0, 1 \(got "yes"\)/ }, 'every bad value at once')
})

t.test('the nginx template renders every placeholder, with the switches the lab uses', async (t) => {
  const settings = stackSettings({ lbPort: 8080, dir: '/tmp/s' }, {})
  const conf = renderTemplate(templateValues(balancerOptions(settings)))
  t.notMatch(conf, /\$\{SL_[A-Z_]+\}/, 'no placeholder left')
  t.match(conf, /listen 127\.0\.0\.1:8080 default_server;/)
  for (const port of [3001, 3002, 3003, 3004]) {
    t.match(conf, new RegExp(`server 127\\.0\\.0\\.1:${port} max_fails=1 fail_timeout=1s;`), 'out of rotation on its first failed try')
    t.match(conf, new RegExp(`server 127\\.0\\.0\\.1:${port} backup max_fails=0;`), 'and a backup when every instance is out')
  }
  t.match(conf, /keepalive 256;/)
  const work = /upstream scale_lab_work \{[^}]*\}/.exec(conf)?.[0] ?? ''
  for (const port of [3001, 3002, 3003, 3004]) {
    t.match(work, new RegExp(`server 127\\.0\\.0\\.1:${port} max_fails=1 fail_timeout=1s max_conns=2;`), 'GET /work: WORK_CONCURRENCY per instance, nothing waiting in it')
    t.match(work, new RegExp(`server 127\\.0\\.0\\.1:${port} backup max_fails=0 max_conns=1;`), 'a bounded backup')
  }
  t.match(conf, /location = \/work \{[\s\S]*?proxy_pass http:\/\/scale_lab_work;/)
  const bound = (env: NodeJS.ProcessEnv, overrides = {}) => renderTemplate(templateValues(balancerOptions(stackSettings({ dir: '/tmp/s', ...overrides }, env))))
  t.match(bound({ WORK_CONCURRENCY: '6', WORK_QUEUE: '3' }), /max_conns=6;/, 'what an instance runs at once, not what it queues')
  t.match(bound({ WORK_CONCURRENCY: '3', WORK_QUEUE: '0' }), /max_conns=3;/, 'follows the instances\' settings')
  t.notMatch(bound({}, { workShed: false }), /max_conns=/, '--no-shed: no bound at the edge either')
  t.match(conf, new RegExp(`proxy_next_upstream ${NEXT_UPSTREAM_WITH_RETRY};`))
  t.match(conf, /access_log \/tmp\/s\/nginx\/logs\/access\.log scale_lab buffer=64k flush=1s;/)
  t.match(conf, /proxy_set_header X-Request-Id \$request_id;/, "nginx's own variables are left alone")
  t.match(conf, /proxy_http_version 1\.1;[\s\S]*proxy_set_header Connection "";/)

  const before = renderTemplate(templateValues(balancerOptions({ ...settings, retryNonIdempotent: false, keepalive: 0, accessLog: false })))
  t.match(before, new RegExp(`proxy_next_upstream ${NEXT_UPSTREAM_DEFAULT};`), '--no-retry: nginx default, POSTs never retried')
  t.notMatch(before, /^\s*keepalive \d+;/m, 'keepalive off')
  t.match(before, /access_log off;/, 'BENCH=1')
  // eslint-disable-next-line no-template-curly-in-string -- a literal placeholder, as in the template
  t.throws(() => renderTemplate(templateValues(balancerOptions(settings)), 'listen ${SL_NOPE};'), /no value for \$\{SL_NOPE\}/)
})

t.test("the edge's settings: from the environment into the template, 0 turning a limit off", async (t) => {
  const settings = stackSettings({ dir: '/tmp/s' }, { EDGE_CLIENT_RATE: '50', EDGE_CLIENT_BURST: '20', EDGE_CLIENT_CONNECTIONS: '8', EDGE_HOSTS: 'api.example,*.lab.example', EDGE_UPSTREAM_HEADER: '0' })
  const conf = renderTemplate(templateValues(balancerOptions(settings)))
  t.match(conf, /limit_req_zone \$binary_remote_addr zone=sl_client_rate:10m rate=50r\/s;/)
  t.match(conf, /limit_req zone=sl_client_rate burst=20 nodelay;/)
  t.match(conf, /limit_conn sl_client_connections 8;/)
  t.match(conf, /^\s+api\.example 1;\n\s+\*\.lab\.example 1;$/m)
  t.notMatch(conf, /add_header x-upstream/, 'EDGE_UPSTREAM_HEADER=0')
  t.match(renderTemplate(templateValues(balancerOptions(stackSettings({}, {})))), /add_header x-upstream \$upstream_addr always;/, 'on in the local lab by default')

  const off = renderTemplate(templateValues(balancerOptions(stackSettings({}, { EDGE_CLIENT_RATE: '0', EDGE_CLIENT_CONNECTIONS: '0' }))))
  t.notMatch(off, /^\s*limit_req /m, 'no rate limit')
  t.notMatch(off, /^\s*limit_conn /m, 'no connection limit')
  t.match(off, /rate=1r\/s;/, 'the unused zone still has a valid rate')
  t.throws(() => stackSettings({}, { EDGE_HOSTS: 'a b' }), { message: /EDGE_HOSTS must be host names separated by commas, such as localhost,127\.0\.0\.1 \(got "a b"\)/ })
})
