import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { dockerdArgs, dockerHost, engineAnswers, enginePaths, enginePid, keepEngine, leaseEngine, startEngine, stopEngine, type EnginePaths } from '../src/lab/containers/engine.js'
import { installCommand, missingEnginePackages } from '../src/lab/containers/packages.js'
import { isAlive, waitFor } from '../src/lab/system/process.js'

// The lab's Docker engine without Docker: its paths and flags, and who may stop it,
// against a stand-in that answers /_ping on the engine's socket and a stand-in
// process carrying the engine's --data-root (test/e2e/compose.test.ts runs a real one).

function freshPaths (t: Test): EnginePaths {
  const dir = mkdtempSync(join(tmpdir(), 'sl-engine-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return enginePaths({ SCALE_LAB_DOCKER_DIR: dir })
}

/** Answers GET /_ping on the engine's socket, as dockerd does. */
async function fakeEngine (t: Test, paths: EnginePaths): Promise<void> {
  mkdirSync(paths.dir, { recursive: true })
  const server = createServer((req, res) => { res.statusCode = req.url === '/_ping' ? 200 : 404; res.end('OK') })
  await new Promise<void>((resolve) => server.listen(paths.socket, resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
}

/** A long-lived process whose command line carries the engine's data root, recorded in its pidfile like dockerd's. */
function fakeDockerd (t: Test, paths: EnginePaths): number {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', '--', `--data-root=${paths.dataRoot}`], { stdio: 'ignore' })
  t.teardown(() => { if (isAlive(child.pid!)) child.kill('SIGKILL') })
  writeFileSync(paths.pidFile, `${child.pid}\n`)
  return child.pid!
}

t.test("its own folder, socket and pidfile; never the system's Docker, nor the host's network", async (t) => {
  const paths = enginePaths({ SCALE_LAB_DOCKER_DIR: '/srv/sl-docker' })
  t.equal(dockerHost(paths), 'unix:///srv/sl-docker/docker.sock')
  t.equal(enginePaths({}).dir, '/var/lib/scale-lab/docker', 'a machine-wide default: one image cache for every checkout')
  const args = dockerdArgs(paths)
  for (const flag of ['--data-root=/srv/sl-docker/data', '--exec-root=/srv/sl-docker/exec', '--host=unix:///srv/sl-docker/docker.sock',
    '--pidfile=/srv/sl-docker/dockerd.pid', '--bridge=none', '--iptables=false', '--ip-forward=false', '--ip-masq=false']) {
    t.ok(args.includes(flag), flag)
  }
  t.notMatch(args.join(' '), /\/var\/run\/docker|\/run\/docker\.sock/)
})

t.test('an engine is there when something answers /_ping on its socket', async (t) => {
  const paths = freshPaths(t)
  t.equal(await engineAnswers(paths), false, 'nothing there')
  await fakeEngine(t, paths)
  t.equal(await engineAnswers(paths), true)
  t.strictSame(await startEngine(paths), { pid: null, started: false }, 'one answers: nothing is started')
})

t.test('the pidfile is trusted only for a live process carrying our data root', async (t) => {
  const paths = freshPaths(t)
  mkdirSync(paths.dir, { recursive: true })
  t.equal(enginePid(paths), null, 'no pidfile')
  writeFileSync(paths.pidFile, `${process.pid}\n`)
  t.equal(enginePid(paths), null, 'a live process that is not our dockerd (a recycled PID) is never ours to stop')
  t.equal(await stopEngine(paths), false)
  t.ok(isAlive(process.pid))
  const pid = fakeDockerd(t, paths)
  await waitFor('the stand-in to start', () => enginePid(paths) === pid, 5000)
  t.equal(await stopEngine(paths), true, 'ours: stopped')
  t.notOk(isAlive(pid), `pid ${pid} is gone`)
})

t.test('leases: the last holder stops the engine, unless another holds it or a person asked to keep it', async (t) => {
  const paths = freshPaths(t)
  await fakeEngine(t, paths)
  const pid = fakeDockerd(t, paths)

  const other = join(paths.leaseDir, String(process.ppid)) // a live process holding a lease too
  const first = await leaseEngine(paths)
  t.equal(first.start.started, false, 'it answered already')
  writeFileSync(other, '')
  t.strictSame(await first.release(), { stopped: false }, 'another holder: left running')
  t.ok(isAlive(pid))
  rmSync(other)

  writeFileSync(join(paths.leaseDir, '999999999'), '') // a holder that died without releasing
  const second = await leaseEngine(paths)
  keepEngine(paths)
  t.strictSame(await second.release(), { stopped: false }, 'kept (docker:test-env): left running')
  t.notOk(existsSync(join(paths.leaseDir, '999999999')), "a dead holder's lease is cleared")

  rmSync(paths.keepFile)
  const third = await leaseEngine(paths)
  t.strictSame(await third.release(), { stopped: true }, 'the last holder, nothing kept: stopped')
  t.notOk(isAlive(pid), 'by the PID in its pidfile')
  t.strictSame(await third.release(), { stopped: false }, 'releasing twice is harmless')
})

t.test('the packages the engine needs, and the command to install them', async (t) => {
  t.strictSame(missingEnginePackages(), [], 'all installed here (npm run setup, or docker:test-env as root)')
  t.equal(installCommand(['docker.io', 'mmdebstrap']), 'apt-get update && apt-get install -y --no-install-recommends docker.io mmdebstrap')
})
