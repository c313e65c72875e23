import { findBinary } from '../system/binaries.js'
import { childEnv } from '../system/process.js'
import { runTool } from './docker-cli.js'
import { EngineError } from './engine.js'

/** What the test engine needs, and the Debian package that provides each. */
export const ENGINE_PACKAGES: ReadonlyArray<{ binary: string, package: string }> = [
  { binary: 'dockerd', package: 'docker.io' },
  { binary: 'docker', package: 'docker.io' },
  { binary: 'iptables', package: 'iptables' },
  { binary: 'mmdebstrap', package: 'mmdebstrap' },
  { binary: 'docker-compose', package: 'docker-compose' }
]

/** The packages to install for what is missing (none when all is there). */
export function missingEnginePackages (): string[] {
  return [...new Set(ENGINE_PACKAGES.filter((p) => findBinary(p.binary) === null).map((p) => p.package))]
}

export function installCommand (packages: string[]): string {
  return `apt-get update && apt-get install -y --no-install-recommends ${packages.join(' ')}`
}

/**
 * Installs what is missing with apt-get when we are root and have it; otherwise
 * throws with the exact command to run. Debian's docker.io may start a system
 * Docker service on install: the lab's engine runs beside it and never uses it.
 */
export async function installEnginePackages (say: (line: string) => void = () => {}): Promise<string[]> {
  const missing = missingEnginePackages()
  if (missing.length === 0) return []
  const aptGet = findBinary('apt-get')
  if (process.getuid?.() !== 0 || aptGet === null) {
    throw new EngineError(`the test engine needs ${missing.join(', ')}. Install them (as root) with:\n  ${installCommand(missing)}`)
  }
  say(`installing ${missing.join(' ')} (apt-get)`)
  const env = childEnv({ DEBIAN_FRONTEND: 'noninteractive' })
  await runTool(aptGet, ['update', '-qq'], { env })
  await runTool(aptGet, ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env })
  return missing
}
