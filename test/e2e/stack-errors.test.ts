import { createServer, type Server } from 'node:net'
import t, { type Test } from 'tap'
import { isListening } from '../../src/lab/system/ports.js'
import { isAlive } from '../../src/lab/system/process.js'
import { pm2DaemonPid } from '../../src/lab/stack/pm2.js'
import { freshStackSettings } from '../../src/lab/stack/fresh.js'
import { down, up } from '../../src/lab/stack/stack.js'
import { readState, stackPaths } from '../../src/lab/stack/state.js'

async function occupy (t: Test, port: number): Promise<Server> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return server
}

t.test('a Redis port taken by someone else: refused, nothing started', async (t) => {
  const settings = await freshStackSettings()
  t.teardown(() => down(settings.dir, { purge: true }))
  await occupy(t, settings.redisPort)
  await t.rejects(up(settings), { name: 'StackError', message: /refusing to clobber it[\s\S]*REDIS_PORT=6380/ })
  t.equal(readState(settings.dir), null)
  t.equal(pm2DaemonPid(stackPaths(settings.dir).pm2Home), null, 'no PM2 daemon')
})

t.test('a balancer port that cannot be bound: a clear error suggesting LB_PORT=8080, and what was started is stopped', async (t) => {
  const settings = await freshStackSettings()
  t.teardown(() => down(settings.dir, { purge: true }))
  await occupy(t, settings.lbPort)
  await t.rejects(up(settings), { name: 'StackError', message: new RegExp(`cannot listen on port ${settings.lbPort}[\\s\\S]*LB_PORT=8080`) })
  t.equal(readState(settings.dir), null, 'no state recorded')
  const daemon = pm2DaemonPid(stackPaths(settings.dir).pm2Home)
  t.ok(daemon === null || !isAlive(daemon), 'the PM2 daemon it started is gone')
  t.notOk(await isListening(settings.redisPort), 'the Redis it started is gone')
  for (let i = 0; i < 4; i++) t.notOk(await isListening(settings.apiBasePort + i), `api port ${settings.apiBasePort + i} is free`)
})

t.test('the stack cannot move ports while it is up', async (t) => {
  // Without Prometheus and its exporters (OBSERVE=1 by default): three more daemons
  // up and down that this refusal does not involve.
  const settings = await freshStackSettings({ observe: false })
  t.teardown(() => down(settings.dir, { purge: true }))
  await up(settings)
  await t.rejects(up({ ...settings, lbPort: settings.lbPort + 1 }), { message: /already up with other ports[\s\S]*npm stop first/ })
})
