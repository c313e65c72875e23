import { createHash } from 'node:crypto'
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { PROJECT_DIR } from '../paths.js'
import { requireBinary } from '../system/binaries.js'
import { docker, runTool } from './docker-cli.js'
import { EngineError, type EnginePaths } from './engine.js'

/**
 * Local stand-ins for the official images the project names, for a test engine
 * that reaches no registry: a Debian bookworm minbase (mmdebstrap, through the
 * machine's apt) imported as the base, and on it one image per official image,
 * shaped like it by docker/standins/<name>/Dockerfile (Debian's packages, the
 * host's Node). docker-compose.test.yml selects them by these tags.
 */
export interface StandIn {
  name: 'node' | 'redis' | 'nginx'
  tag: string
  /** The official image it stands in for (docker-compose.yml, Dockerfile). */
  replaces: string
}

export const STANDINS: readonly StandIn[] = [
  { name: 'node', tag: 'scale-lab-standin/node:20-bookworm', replaces: 'node:20.20-bookworm-slim' },
  { name: 'redis', tag: 'scale-lab-standin/redis:7-bookworm', replaces: 'redis:7.4.2-alpine' },
  { name: 'nginx', tag: 'scale-lab-standin/nginx:1.22-bookworm', replaces: 'nginx:1.26.3-alpine' }
]

/** The Debian base every stand-in is built on. */
export const BASE_TAG = 'scale-lab-standin/bookworm:minbase'
/** The label holding the hash of everything an image was built from. */
export const INPUTS_LABEL = 'org.scale-lab.inputs'
const STANDINS_DIR = join(PROJECT_DIR, 'docker', 'standins')

/**
 * mmdebstrap's arguments for the base: minbase, without manuals, docs and
 * locales (like the official -slim images; the dpkg settings stay in the image,
 * for the stand-ins' own `apt-get install`). Debian's mirrors, as mmdebstrap knows them.
 */
function baseArgs (output: string): string[] {
  return [
    '--variant=minbase', '--quiet',
    '--dpkgopt=path-exclude=/usr/share/man/*',
    '--dpkgopt=path-exclude=/usr/share/doc/*',
    '--dpkgopt=path-include=/usr/share/doc/*/copyright',
    '--dpkgopt=path-exclude=/usr/share/locale/*',
    '--dpkgopt=path-exclude=/usr/share/info/*',
    // No fsync per unpacked file (as Docker's own Debian images): minutes saved on a busy disk.
    '--dpkgopt=force-unsafe-io',
    'bookworm', output
  ]
}

/** Files the node stand-in's build context adds to its folder: the host's Node, npm and extra CA certificates. */
interface ExtraFile { name: string, source: string | null, content?: string }

function hostNodeFiles (): ExtraFile[] {
  const node = realpathSync(process.execPath)
  const npm = join(dirname(node), '..', 'lib', 'node_modules', 'npm')
  if (!existsSync(join(npm, 'package.json'))) throw new EngineError(`npm not found beside ${node} (looked in ${npm})`)
  return [
    { name: 'node', source: node },
    { name: 'npm', source: npm },
    { name: 'extra-ca.pem', source: null, content: extraCaCertificates() }
  ]
}

/** The machine's own CA certificates (/usr/local/share/ca-certificates): a network that re-signs TLS needs them. */
function extraCaCertificates (dir = '/usr/local/share/ca-certificates'): string {
  if (!existsSync(dir)) return ''
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.crt'))
    .sort()
    .map((file) => readFileSync(join(dir, file), 'utf8').trimEnd() + '\n')
    .join('')
}

function hashOf (...parts: Array<string | Buffer>): string {
  const hash = createHash('sha256')
  for (const part of parts) hash.update(part).update('\0')
  return hash.digest('hex').slice(0, 16)
}

/** What goes into a stand-in, and a hash of it all: the base, its folder, the node extras. */
function inputsOf (standIn: StandIn, baseHash: string): { hash: string, extras: ExtraFile[] } {
  const parts: Array<string | Buffer> = [baseHash]
  const folder = join(STANDINS_DIR, standIn.name)
  for (const file of readdirSync(folder).sort()) {
    parts.push(`${file} ${statSync(join(folder, file)).mode & 0o111}`, readFileSync(join(folder, file)))
  }
  const extras = standIn.name === 'node' ? hostNodeFiles() : []
  for (const extra of extras) {
    parts.push(extra.name)
    if (extra.content !== undefined) parts.push(extra.content)
    else if (extra.name === 'npm') parts.push(readFileSync(join(extra.source!, 'package.json')))
    else parts.push(readFileSync(extra.source!))
  }
  return { hash: hashOf(...parts), extras }
}

/** The inputs hash an image was built from, or null when there is no such image. */
async function builtFrom (paths: EnginePaths, tag: string): Promise<string | null> {
  try {
    const { stdout } = await docker(paths, ['image', 'inspect', '--format', `{{index .Config.Labels "${INPUTS_LABEL}"}}`, tag])
    return stdout.trim()
  } catch {
    return null
  }
}

export interface ImageBuild {
  tag: string
  /** False when the image was already built from the same inputs. */
  built: boolean
  seconds: number
}

type Say = (line: string) => void

/**
 * Builds the base and each stand-in whose inputs changed since it was built
 * (everything, on a new engine). `rebuild` ignores the cache.
 */
export async function buildStandIns (paths: EnginePaths, say: Say = () => {}, { rebuild = false } = {}): Promise<ImageBuild[]> {
  const baseHash = hashOf(JSON.stringify(baseArgs('-')))
  const builds = [await cached(paths, BASE_TAG, baseHash, rebuild, say, () => buildBase(paths, baseHash))]
  for (const standIn of STANDINS) {
    const { hash, extras } = inputsOf(standIn, baseHash)
    builds.push(await cached(paths, standIn.tag, hash, rebuild, say, () => buildStandIn(paths, standIn, hash, extras)))
  }
  return builds
}

async function cached (paths: EnginePaths, tag: string, hash: string, rebuild: boolean, say: Say, build: () => Promise<void>): Promise<ImageBuild> {
  const started = performance.now()
  const seconds = () => Math.round((performance.now() - started) / 100) / 10
  if (!rebuild && await builtFrom(paths, tag) === hash) return { tag, built: false, seconds: seconds() }
  say(`building ${tag}`)
  const previous = await imageId(paths, tag)
  await build()
  // The image this one replaces goes, unless something still uses it.
  if (previous !== null && previous !== await imageId(paths, tag)) await docker(paths, ['rmi', previous]).catch(() => {})
  say(`built ${tag} in ${seconds()} s`)
  return { tag, built: true, seconds: seconds() }
}

/** The Debian base: mmdebstrap's tarball, imported with its inputs hash as a label. */
async function buildBase (paths: EnginePaths, hash: string): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'sl-standin-base-'))
  try {
    const rootfs = join(work, 'rootfs.tar')
    // A cold build on a busy machine took minutes; give it room.
    await runTool(requireBinary('mmdebstrap'), baseArgs(rootfs), { env: process.env, timeoutMs: 30 * 60_000 })
    await docker(paths, ['import', '--change', `LABEL ${INPUTS_LABEL}=${hash}`, '--change', 'CMD ["bash"]',
      '--message', 'Debian bookworm minbase (mmdebstrap)', rootfs, BASE_TAG])
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}

async function buildStandIn (paths: EnginePaths, standIn: StandIn, hash: string, extras: ExtraFile[]): Promise<void> {
  const context = mkdtempSync(join(tmpdir(), `sl-standin-${standIn.name}-`))
  try {
    cpSync(join(STANDINS_DIR, standIn.name), context, { recursive: true })
    for (const extra of extras) {
      if (extra.source === null) writeFileSync(join(context, extra.name), extra.content ?? '')
      else cpSync(extra.source, join(context, extra.name), { recursive: true })
    }
    const caArg = extras.some((e) => e.name === 'extra-ca.pem' && e.content)
      ? ['--build-arg', 'EXTRA_CA_CERTS=/usr/local/share/scale-lab/extra-ca.pem']
      : []
    // The host's network, for apt-get (the engine has no default bridge).
    await docker(paths, ['build', '--network=host', '--build-arg', `BASE=${BASE_TAG}`, ...caArg,
      '--label', `${INPUTS_LABEL}=${hash}`, '--label', `org.scale-lab.replaces=${standIn.replaces}`,
      '--tag', standIn.tag, context], { timeoutMs: 30 * 60_000 })
  } finally {
    rmSync(context, { recursive: true, force: true })
  }
}

async function imageId (paths: EnginePaths, tag: string): Promise<string | null> {
  try {
    return (await docker(paths, ['image', 'inspect', '--format', '{{.Id}}', tag])).stdout.trim()
  } catch {
    return null
  }
}

/** Each image's size in MB, as `docker image inspect` gives it (the base's included). */
export async function imageSizes (paths: EnginePaths, tags: string[]): Promise<Record<string, number>> {
  const sizes: Record<string, number> = {}
  for (const tag of tags) {
    const { stdout } = await docker(paths, ['image', 'inspect', '--format', '{{.Size}}', tag])
    sizes[tag] = Math.round(Number(stdout.trim()) / 1e5) / 10
  }
  return sizes
}
