/**
 * The seed's second system: the same Express app under Node's cluster module,
 * WORKERS (default 4) workers sharing one port (its run 2). The primary only
 * forks and supervises; it prints "seed cluster ready" once every worker listens,
 * and on SIGTERM/SIGINT stops its workers, then exits.
 */
import cluster from 'node:cluster'
import { createSeedApp, listenSeedApp } from './seed-express.js'

const workers = Number(process.env.WORKERS ?? 4)

if (cluster.isPrimary) {
  let listening = 0
  let stopping = false
  cluster.on('listening', () => {
    listening++
    if (listening === workers) console.log(`seed cluster ready: primary ${process.pid}, ${workers} workers on ${process.env.HOST ?? '127.0.0.1'}:${process.env.PORT ?? 3000}`)
  })
  cluster.on('exit', (worker, code, signal) => {
    if (!stopping) console.error(`seed cluster: worker ${worker.process.pid} exited (${signal ?? code})`)
    if (Object.keys(cluster.workers ?? {}).length === 0 && stopping) process.exit(0)
  })
  const stop = () => {
    if (stopping) return
    stopping = true
    const alive = Object.values(cluster.workers ?? {})
    if (alive.length === 0) process.exit(0)
    for (const worker of alive) worker?.process.kill('SIGTERM')
    setTimeout(() => process.exit(0), 3000).unref()
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  for (let i = 0; i < workers; i++) cluster.fork()
} else {
  await listenSeedApp(createSeedApp())
}
