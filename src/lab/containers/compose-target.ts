/**
 * The compose stack as a lesson's target (target.ts): a running `docker compose
 * up` project, reached through nginx's published port on 127.0.0.1, its
 * instances asked directly from inside the api container (`docker exec`: they
 * are not published on the host).
 */
import { basename } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { STORES, type StoreKind } from '../../shared/contract.js'
import { PROJECT_DIR } from '../paths.js'
import { onInterrupt } from '../system/interrupt.js'
import type { InstanceAnswer, StackTarget } from '../target.js'
import { ComposeProject } from './compose.js'
import { docker } from './docker-cli.js'
import { EngineError, type EnginePaths } from './engine.js'

/** The compose file's services and network the lessons work on (docker-compose.yml). */
export const API_SERVICE = 'api'
export const NGINX_SERVICE = 'nginx'
export const REDIS_SERVICE = 'redis'
export const STACK_NETWORK = 'lab'

export interface ComposeTarget extends StackTarget {
  kind: 'compose'
  project: ComposeProject
}

/**
 * The project name `docker compose up` gives a stack in this folder:
 * COMPOSE_PROJECT_NAME, else the folder's name, lower case, only [a-z0-9_-]
 * (what Compose v2 and docker-compose 1.29 both do).
 */
export function defaultProjectName (env: NodeJS.ProcessEnv = process.env): string {
  return env.COMPOSE_PROJECT_NAME || basename(PROJECT_DIR).toLowerCase().replace(/[^a-z0-9_-]/g, '')
}

/**
 * A running project by its name, with the compose files it was brought up with
 * (Compose records them on its containers), so a lesson that changes it (scales
 * the api) changes it the way `docker compose -f ...` would. Variables come from
 * the environment and the project folder's .env, as for `docker compose` itself.
 */
export async function findComposeProject (name: string, paths?: EnginePaths): Promise<ComposeProject> {
  const label = 'com.docker.compose.project'
  const { stdout } = await docker(paths, ['ps', '-q', '--filter', `label=${label}=${name}`])
  const id = stdout.trim().split('\n').filter(Boolean)[0]
  if (id === undefined) throw new EngineError(`no container of a compose project named "${name}" is running (bring it up with docker compose up -d, or name it with --project)`)
  const labels = JSON.parse((await docker(paths, ['inspect', '--format', '{{json .Config.Labels}}', id])).stdout) as Record<string, string>
  const files = (labels[`${label}.config_files`] ?? '').split(',').filter(Boolean)
  return new ComposeProject({ ...(paths ? { paths } : {}), name, files, variables: {} })
}

/** The script run inside the api container: GET a path of each instance (argv: path, then ports), print {port: {status, body}}. */
const ASK_EACH = `
const [path, ...ports] = process.argv.slice(1)
Promise.all(ports.map((port) => fetch('http://127.0.0.1:' + port + path, { signal: AbortSignal.timeout(5000) })
  .then(async (r) => [port, { status: r.status, body: await r.text() }], () => [port, { status: 0, body: '' }])))
  .then((answers) => console.log(JSON.stringify(Object.fromEntries(answers))))`

/**
 * The target for `project`: nginx's published port (`port`, else the one its
 * container publishes for 80), the instances as the api container's environment
 * declares them, the store it runs. Refuses a stack whose nginx does not answer.
 */
export async function composeTarget (project: ComposeProject, port?: number): Promise<ComposeTarget> {
  const published = port ?? await project.publishedPort(NGINX_SERVICE, 80)
  const env = await project.environment(API_SERVICE)
  const count = Number(env.INSTANCES || 4)
  const basePort = Number(env.API_BASE_PORT || 3001)
  const store = (STORES as readonly string[]).includes(env.STORE ?? '') ? env.STORE as StoreKind : 'redis'
  const names = Array.from({ length: count }, (_, i) => `api-${i + 1}`)
  const ports = names.map((_, i) => String(basePort + i))
  const base = `http://127.0.0.1:${published}`
  const answering = await fetch(`${base}/health/ready`, { signal: AbortSignal.timeout(5000) }).then((r) => r.status, () => null)
  if (answering !== 200) throw new EngineError(`${base}/health/ready answered ${answering ?? 'nothing'}: is nginx of project ${project.name} published on ${published}, and the stack healthy (docker compose ps)?`)
  return {
    kind: 'compose',
    name: `compose project ${project.name}`,
    base,
    store,
    instances: names,
    directUrl: null,
    project,
    askEachInstance: async (path) => {
      const { stdout } = await project.exec(API_SERVICE, ['node', '-e', ASK_EACH, path, ...ports])
      const byPort = JSON.parse(stdout) as Record<string, InstanceAnswer>
      return Object.fromEntries(ports.map((p, i) => [names[i]!, byPort[p] ?? { status: 0, body: '' }]))
    }
  }
}

/**
 * Runs `work` with at least `count` containers of the api service: scaled up for
 * it (and nginx's watcher given the time to add them) and back down afterwards,
 * Ctrl-C included. A project that already runs that many is left as it is.
 */
export async function withApiContainers<T> (target: ComposeTarget, count: number, say: (line: string) => void, work: (containers: string[]) => Promise<T>): Promise<T> {
  const { project } = target
  await requireUpstreamHeader(target)
  const before = (await project.containers(API_SERVICE)).length
  if (before >= count) return work(await project.containers(API_SERVICE))
  const scaleBack = async () => { await project.scale(API_SERVICE, before) }
  const unregister = onInterrupt(scaleBack)
  try {
    say(`  scaling the api service of ${project.name} from ${before} to ${count} containers (back to ${before} afterwards)`)
    await project.scale(API_SERVICE, count)
    const containers = await project.containers(API_SERVICE)
    // Serving, as nginx sees it (its watcher reloads once the new address resolves): the
    // container's healthcheck, a docker exec of node every 3 s, lags behind on a busy machine.
    await waitRoutedTo(target, await Promise.all(containers.map((container) => project.address(API_SERVICE, { network: STACK_NETWORK, container }))))
    return await work(containers)
  } finally {
    unregister()
    say(`  scaling the api service back to ${before}`)
    await scaleBack()
  }
}

/**
 * Which container answered is in nginx's x-upstream header only: the compose file
 * leaves it off (it maps the inside), so a lesson that needs it says how to turn
 * it on before it changes anything, rather than waiting for what it cannot see.
 */
async function requireUpstreamHeader (target: ComposeTarget): Promise<void> {
  const res = await fetch(`${target.base}/`, { signal: AbortSignal.timeout(5000) })
  await res.arrayBuffer()
  if (res.headers.get('x-upstream') !== null) return
  throw new EngineError(`${target.name}: nginx sends no x-upstream header, so the lab cannot tell which api container answered. ` +
    'Bring the stack up with it on: SL_UPSTREAM_HEADER=\'add_header x-upstream $upstream_addr always;\' docker-compose up -d (docs/containers.md)')
}

/** Waits until nginx has answered from every address (its watcher reloads it once the new container resolves). */
async function waitRoutedTo (target: ComposeTarget, addresses: string[], timeoutMs = 180_000): Promise<void> {
  const seen = new Set<string>()
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const upstream = await fetch(`${target.base}/`, { signal: AbortSignal.timeout(5000) }).then(async (r) => { await r.arrayBuffer(); return r.ok ? r.headers.get('x-upstream') : null }, () => null)
    const address = upstream?.split(', ').pop()?.split(':')[0]
    if (address) seen.add(address)
    if (addresses.every((a) => seen.has(a))) return
    await sleep(50)
  }
  throw new EngineError(`nginx did not route to every api container within ${timeoutMs / 1000} s (saw ${[...seen].join(', ') || 'none'} of ${addresses.join(', ')})`)
}
