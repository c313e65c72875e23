import { spawn, type ChildProcess } from 'node:child_process'
import type { Test } from 'tap'
import { SERVER_SCRIPT } from '../src/lab/paths.js'
import { freePort } from '../src/lab/system/ports.js'
import { childEnv } from '../src/lab/system/process.js'

/** server.ts as a real process of its own (its event loop is not the test's). */
export interface ServerProcess { child: ChildProcess, port: number, output: () => string, ready: Promise<unknown> }

/**
 * Starts the service on a free port with `env`; killed in teardown if still running.
 * The built bundle PM2 runs (dist/server.js: `npm run build` first, as npm test does):
 * it boots in ~1 s of CPU where src/server.ts through tsx took ~3 s.
 */
export async function startServer (t: Test, env: Record<string, string>): Promise<ServerProcess> {
  const port = await freePort()
  const child = spawn(process.execPath, [SERVER_SCRIPT], {
    // Without tap's coverage hooks: the in-process tests measure src/'s coverage.
    env: childEnv({ PORT: String(port), HOST: '127.0.0.1', INSTANCE_ID: 'proc-1', ...env }),
    stdio: ['ignore', 'pipe', 'pipe', 'ipc']
  })
  let output = ''
  child.stdout!.on('data', (chunk) => { output += chunk })
  child.stderr!.on('data', (chunk) => { output += chunk })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  const ready = new Promise((resolve) => child.on('message', (message) => { if (message === 'ready') resolve(message) }))
  return { child, port, output: () => output, ready }
}
