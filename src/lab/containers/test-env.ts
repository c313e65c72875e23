import { findBinary } from '../system/binaries.js'
import { dockerHost, enginePaths, keepEngine, leaseEngine, startEngine, type EnginePaths, type EngineStart } from './engine.js'
import { installEnginePackages, missingEnginePackages } from './packages.js'
import { buildStandIns, type ImageBuild } from './standins.js'

/**
 * The test environment for the container stack: the packages, the lab's own
 * Docker engine, and the stand-in images, each step done only when needed.
 */
export interface TestEnv {
  paths: EnginePaths
  /** DOCKER_HOST=… for the docker CLI and docker-compose. */
  dockerHost: string
  engine: EngineStart
  images: ImageBuild[]
  /** Packages apt-get installed now. */
  installed: string[]
  /** Lets the engine go: a lease's last holder stops an engine no one asked to keep. */
  release (): Promise<{ stopped: boolean }>
}

/** Why no engine can be started here (the compose test skips, saying this), or null. */
export function testEnvBlocker (): string | null {
  if (process.platform !== 'linux') return `the lab's Docker engine needs Linux (this is ${process.platform})`
  if (process.getuid?.() !== 0) return 'starting a Docker engine (dockerd) needs root: run the tests as root to include the compose stack'
  const missing = missingEnginePackages()
  if (missing.length > 0 && findBinary('apt-get') === null) return `${missing.join(', ')} missing, and no apt-get to install them`
  return null
}

export interface PrepareOptions {
  /**
   * keep: the engine stays up until `docker:test-env --stop` (a person's command).
   * lease: held for this process; the last holder out stops it (a test).
   */
  hold: 'keep' | 'lease'
  rebuild?: boolean
}

export async function prepareTestEnv (options: PrepareOptions, say: (line: string) => void = () => {}): Promise<TestEnv> {
  const paths = enginePaths()
  const installed = await installEnginePackages(say)
  let engine: EngineStart
  let release: TestEnv['release']
  if (options.hold === 'lease') {
    const lease = await leaseEngine(paths, say)
    engine = lease.start
    release = lease.release
  } else {
    engine = await startEngine(paths, say)
    keepEngine(paths)
    release = async () => ({ stopped: false })
  }
  try {
    const images = await buildStandIns(paths, say, { rebuild: options.rebuild === true })
    return { paths, dockerHost: dockerHost(paths), engine, images, installed, release }
  } catch (err) {
    await release()
    throw err
  }
}
