import { execFile } from 'node:child_process'
import { requireBinary } from '../system/binaries.js'
import { childEnv } from '../system/process.js'
import { dockerHost, EngineError, type EnginePaths } from './engine.js'

/**
 * The environment for the docker CLI and docker-compose against the lab's
 * engine: its socket, and the classic builder (Debian ships no BuildKit; with
 * docker-compose 1.29, COMPOSE_DOCKER_CLI_BUILD=0 builds through the API, which
 * honours docker-compose.test.yml's `build.network`). Without `paths`: the
 * Docker this process's environment points at (DOCKER_HOST, or the default
 * socket), as a person's `docker` command would use it.
 */
export function engineEnv (paths: EnginePaths | undefined, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  if (paths === undefined) return childEnv(extra)
  return childEnv({ DOCKER_HOST: dockerHost(paths), DOCKER_BUILDKIT: '0', COMPOSE_DOCKER_CLI_BUILD: '0', ...extra })
}

export interface Output { stdout: string, stderr: string }

export interface RunOptions {
  env: NodeJS.ProcessEnv
  cwd?: string
  /** Killed after this long (default 10 minutes: a cold image build). */
  timeoutMs?: number
}

/** Runs a command to completion; a failure is an EngineError quoting the end of its stderr. */
export function runTool (binary: string, args: string[], options: RunOptions): Promise<Output> {
  return new Promise((resolve, reject) => {
    execFile(binary, args, { env: options.env, cwd: options.cwd, timeout: options.timeoutMs ?? 600_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err === null) { resolve({ stdout, stderr }); return }
      const said = (stderr || stdout).trimEnd().split('\n').slice(-12).join('\n')
      const command = [binary.split('/').pop(), ...args].join(' ')
      reject(new EngineError(`${command.length > 200 ? command.slice(0, 200) + '…' : command} failed (${err.killed ? 'timed out' : `exit ${err.code}`}):\n${said}`))
    })
  })
}

/** The docker CLI against the lab's engine (or, without `paths`, the environment's Docker). */
export function docker (paths: EnginePaths | undefined, args: string[], options: Partial<RunOptions> = {}): Promise<Output> {
  return runTool(requireBinary('docker'), args, { env: engineEnv(paths), ...options })
}
