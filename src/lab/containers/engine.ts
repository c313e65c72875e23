import { execFile } from 'node:child_process'
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { requireBinary } from '../system/binaries.js'
import { isAlive, stopPid } from '../system/process.js'
import { StartError, Supervisor } from '../system/supervisor.js'

const run = promisify(execFile)

/**
 * The lab's own Docker engine, for tests: a `dockerd` with its own data root,
 * exec root, socket and pidfile, never a user's daemon or /var/run/docker.sock.
 * Machine-wide (not per checkout), so its image cache serves every checkout and
 * every run; SCALE_LAB_DOCKER_DIR moves it (a fresh folder is a cold cache).
 */
export const DEFAULT_ENGINE_DIR = '/var/lib/scale-lab/docker'

export interface EnginePaths {
  dir: string
  dataRoot: string
  execRoot: string
  socket: string
  pidFile: string
  logFile: string
  /** One file per process using the engine (its PID): the last to leave stops an engine a lease started. */
  leaseDir: string
  /** Written when `docker:test-env` started (or adopted) the engine: leases then never stop it. */
  keepFile: string
}

export class EngineError extends Error {
  override name = 'EngineError'
}

export function enginePaths (env: NodeJS.ProcessEnv = process.env): EnginePaths {
  const dir = resolve(env.SCALE_LAB_DOCKER_DIR || DEFAULT_ENGINE_DIR)
  return {
    dir,
    dataRoot: join(dir, 'data'),
    execRoot: join(dir, 'exec'),
    socket: join(dir, 'docker.sock'),
    pidFile: join(dir, 'dockerd.pid'),
    logFile: join(dir, 'dockerd.log'),
    leaseDir: join(dir, 'leases'),
    keepFile: join(dir, 'keep')
  }
}

/** DOCKER_HOST for the docker CLI and docker-compose. */
export function dockerHost (paths: EnginePaths): string {
  return `unix://${paths.socket}`
}

/**
 * dockerd's flags. No default bridge and no iptables, masquerading or IP
 * forwarding: the engine changes nothing on the host's network beyond its own
 * bridges, so it can run beside a user's Docker (whose docker0 and iptables
 * chains it would otherwise fight over). Published ports go through
 * docker-proxy; image builds use the host's network (docker-compose.test.yml).
 */
export function dockerdArgs (paths: EnginePaths): string[] {
  return [
    `--data-root=${paths.dataRoot}`,
    `--exec-root=${paths.execRoot}`,
    `--host=${dockerHost(paths)}`,
    `--pidfile=${paths.pidFile}`,
    '--bridge=none',
    '--iptables=false',
    '--ip-masq=false',
    '--ip-forward=false',
    // Its own namespaces, in case dockerd picks up a containerd the system runs.
    '--containerd-namespace=scale-lab',
    '--containerd-plugins-namespace=scale-lab-plugins'
  ]
}

/** True when a Docker engine answers /_ping on the socket. */
export function engineAnswers (paths: EnginePaths, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath: paths.socket, path: '/_ping', timeout: timeoutMs }, (res) => {
      res.resume()
      resolve(res.statusCode === 200)
    })
    req.once('timeout', () => req.destroy())
    req.once('error', () => resolve(false))
    req.end()
  })
}

/** The PID in dockerd's pidfile when that process is alive and is our dockerd (its data root), else null. */
export function enginePid (paths: EnginePaths): number | null {
  let pid: number
  try {
    pid = Number(readFileSync(paths.pidFile, 'utf8').trim())
  } catch {
    return null
  }
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return null
  try {
    // A recycled PID is someone else's process: never stop that.
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
    if (!cmdline.includes(`--data-root=${paths.dataRoot}`)) return null
  } catch {
    return null
  }
  return pid
}

export interface EngineStart {
  pid: number | null
  /** False when an engine already answered on the socket. */
  started: boolean
}

/**
 * Starts the engine unless one answers on its socket already. Returns once it
 * answers; if it does not within a minute it is stopped, and the error quotes its log.
 */
export async function startEngine (paths: EnginePaths, say: (line: string) => void = () => {}): Promise<EngineStart> {
  if (await engineAnswers(paths)) return { pid: enginePid(paths), started: false }
  if (process.getuid?.() !== 0) throw new EngineError('starting a Docker engine needs root (dockerd)')
  const dockerd = requireBinary('dockerd')
  for (const dir of [paths.dataRoot, paths.execRoot, paths.leaseDir]) mkdirSync(dir, { recursive: true })
  say(`starting dockerd (data root ${paths.dataRoot}, log ${paths.logFile})`)
  // Detached: it outlives this process; its own pidfile is the record a later run stops it by.
  const supervisor = new Supervisor({ detached: true })
  try {
    const { pid } = await supervisor.start({
      name: 'dockerd',
      role: 'server',
      command: dockerd,
      args: dockerdArgs(paths),
      logFile: paths.logFile,
      ready: () => engineAnswers(paths),
      waitingFor: 'dockerd to answer',
      readyTimeoutMs: 60_000,
      pollMs: 200,
      graceMs: 10_000
    })
    return { pid, started: true }
  } catch (err) {
    if (!(err instanceof StartError)) throw err
    throw new EngineError(`dockerd did not start (${err.message}). The end of ${paths.logFile}:\n${logTail(paths.logFile)}`)
  }
}

/** Stops our dockerd by the PID in its pidfile (it stops its containers first). False when none ran. */
export async function stopEngine (paths: EnginePaths): Promise<boolean> {
  const pid = enginePid(paths)
  rmSync(paths.keepFile, { force: true })
  if (pid === null) return false
  // dockerd gives running containers their stop timeout (15 s by default) before exiting.
  await stopPid(pid, { signal: 'SIGTERM', graceMs: 40_000 })
  await unmountLeftovers(paths)
  return true
}

/**
 * dockerd leaves its handle on the host's network namespace (exec-root/netns/default)
 * mounted when it exits, and a mount point cannot be deleted: unmount what is left
 * under its exec root, and only there.
 */
async function unmountLeftovers (paths: EnginePaths): Promise<void> {
  let mountInfo: string
  try {
    mountInfo = readFileSync('/proc/self/mountinfo', 'utf8')
  } catch {
    return
  }
  const points = mountInfo.split('\n').map((line) => line.split(' ')[4] ?? '').filter((point) => point.startsWith(`${paths.execRoot}/`))
  for (const point of points.reverse()) await run('umount', [point]).catch(() => {})
}

/** Marks the engine as kept (docker:test-env): tests that find it running leave it running. */
export function keepEngine (paths: EnginePaths): void {
  writeFileSync(paths.keepFile, `${process.pid}\n`)
}

/** A hold on the engine for this process: released, the last holder stops an engine no one asked to keep. */
export interface EngineLease {
  paths: EnginePaths
  release (): Promise<{ stopped: boolean }>
}

/**
 * Starts the engine if needed and holds it until release. Several test runs at
 * once share one engine: the last one out stops it, unless `docker:test-env`
 * (a person) asked for it to stay.
 */
export async function leaseEngine (paths: EnginePaths, say: (line: string) => void = () => {}): Promise<EngineLease & { start: EngineStart }> {
  mkdirSync(paths.leaseDir, { recursive: true })
  const lease = join(paths.leaseDir, String(process.pid))
  writeFileSync(lease, '')
  let start: EngineStart
  try {
    start = await startEngine(paths, say)
  } catch (err) {
    rmSync(lease, { force: true })
    throw err
  }
  let released = false
  return {
    paths,
    start,
    release: async () => {
      if (released) return { stopped: false }
      released = true
      rmSync(lease, { force: true })
      if (liveLeases(paths).length > 0 || isKept(paths)) return { stopped: false }
      return { stopped: await stopEngine(paths) }
    }
  }
}

function isKept (paths: EnginePaths): boolean {
  try {
    readFileSync(paths.keepFile)
    return true
  } catch {
    return false
  }
}

/** PIDs holding a lease whose process still runs (a crashed holder's file is removed). */
function liveLeases (paths: EnginePaths): number[] {
  let files: string[]
  try {
    files = readdirSync(paths.leaseDir)
  } catch {
    return []
  }
  const live: number[] = []
  for (const file of files) {
    const pid = Number(file)
    if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) live.push(pid)
    else rmSync(join(paths.leaseDir, file), { force: true })
  }
  return live
}

function logTail (file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
  } catch {
    return '(no log)'
  }
}
