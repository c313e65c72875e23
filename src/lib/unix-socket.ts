import { rmSync } from 'node:fs'
import type { Server as HttpServer } from 'node:http'
import { createServer, type Server } from 'node:net'

/**
 * Serves `http` on a unix socket path as well as on its TCP port: a plain socket
 * server hands each connection to the HTTP server, which treats it as one of its
 * own (its timeouts, keep-alive and graceful close apply alike). The socket is
 * readable and writable by all: nginx's workers run as another user. A stale file
 * from an earlier run is removed first. The caller closes the server it returns.
 */
export async function listenOnSocket (http: HttpServer, path: string): Promise<Server> {
  rmSync(path, { force: true })
  const server = createServer((connection) => http.emit('connection', connection))
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({ path, readableAll: true, writableAll: true }, () => {
      server.off('error', reject)
      resolve()
    })
  })
  return server
}
