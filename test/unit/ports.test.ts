// Whether a port is taken, with the grace a just-killed process needs to let go
// of its socket (the stack refused to start a SIGKILLed Sentinel again because
// its port was still held for a few milliseconds).
import { createServer, type Server } from 'node:net'
import t from 'tap'
import { busyPorts, freePort, isTaken } from '../../src/lab/system/ports.js'

async function listening (): Promise<{ server: Server, port: number }> {
  const port = await freePort()
  const server = createServer((socket) => socket.destroy())
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  return { server, port }
}

t.test('a port released within the grace is not taken', async (t) => {
  const { server, port } = await listening()
  setTimeout(() => server.close(), 200)
  t.equal(await isTaken(port), false)
})

t.test('a port held past the grace is taken, and only that one is busy', async (t) => {
  const held = await listening()
  t.teardown(() => held.server.close())
  const free = await freePort()
  t.equal(await isTaken(held.port), true)
  t.strictSame(await busyPorts([free, held.port]), [held.port])
})
