/**
 * The seed's peer: one Express 4 process answering GET / with a small JSON body,
 * the baseline the seed's own load table started from (its run 1). The bench
 * runs it as `node dist/lab/bench/seed-express.js` with PORT and HOST.
 */
import { fileURLToPath } from 'node:url'
import express, { type Express } from 'express'

export function createSeedApp (): Express {
  const app = express()
  app.get('/', (_req, res) => {
    res.json({ hello: 'world', pid: process.pid })
  })
  return app
}

/** Listens on PORT (default 3000) and HOST (default 127.0.0.1); resolves once listening. */
export function listenSeedApp (app: Express): Promise<{ host: string, port: number }> {
  const host = process.env.HOST ?? '127.0.0.1'
  const port = Number(process.env.PORT ?? 3000)
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host, () => resolve({ host, port }))
    server.once('error', reject)
    const stop = () => server.close(() => process.exit(0))
    process.once('SIGTERM', stop)
    process.once('SIGINT', stop)
  })
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { host, port } = await listenSeedApp(createSeedApp())
  console.log(`seed express ready: pid ${process.pid} on ${host}:${port}`)
}
