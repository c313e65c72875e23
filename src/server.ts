import closeWithGrace from 'close-with-grace'
import { buildApp } from './app.js'
import { ConfigError, loadConfig } from './config.js'
import { listenOnSocket } from './lib/unix-socket.js'

/**
 * The only entry point that listens. Under PM2 (`wait_ready`) it says "ready"
 * once listening, and on SIGINT/SIGTERM it drains: in-flight requests finish,
 * new ones get 503 + Connection: close, Redis is closed, then it exits. The grace
 * period stays below PM2's kill_timeout so PM2 never has to SIGKILL it.
 */
async function main (): Promise<void> {
  let config
  try {
    config = loadConfig()
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    console.error(err.message)
    process.exit(1)
  }

  const app = await buildApp(config, {
    logger: {
      level: config.LOG_LEVEL,
      base: { instance: config.INSTANCE_ID, pid: process.pid },
      // Pretty only for a person at a terminal; JSON for PM2, Docker and files.
      ...(process.stdout.isTTY ? { stream: await prettyStream() } : {})
    }
  })

  let socket: Awaited<ReturnType<typeof listenOnSocket>> | null = null
  closeWithGrace({ delay: config.SHUTDOWN_GRACE_MS }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'closing after an error')
    else app.log.info({ signal }, 'closing')
    socket?.close()
    await app.close()
  })

  await app.listen({ host: config.HOST, port: config.PORT })
  if (config.SOCKET_PATH !== '') socket = await listenOnSocket(app.server, config.SOCKET_PATH)
  process.send?.('ready')
}

/**
 * pino-pretty as the logger's stream, in this thread: pino itself is bundled into
 * dist/server.js (its worker-thread transports would look for their files beside the
 * bundle), and pino-pretty is loaded only when someone is watching.
 */
async function prettyStream () {
  const { default: pretty } = await import('pino-pretty')
  return pretty()
}

await main()
