import { join } from 'node:path'
import { PROJECT_DIR } from '../paths.js'
import { findBinary, requireBinary } from '../system/binaries.js'
import { waitFor } from '../system/process.js'
import { docker, engineEnv, runTool, type Output } from './docker-cli.js'
import { EngineError, type EnginePaths } from './engine.js'

export const COMPOSE_FILE = join(PROJECT_DIR, 'docker-compose.yml')
/** The override that puts the stack on the local stand-ins (docker-compose.test.yml). */
export const COMPOSE_TEST_FILE = join(PROJECT_DIR, 'docker-compose.test.yml')

/** docker-compose (1.29, Debian's) when installed, else Compose v2 as `docker compose`. */
export function composeCommand (): { binary: string, prefix: string[] } {
  const v1 = findBinary('docker-compose')
  if (v1 !== null) return { binary: v1, prefix: [] }
  return { binary: requireBinary('docker'), prefix: ['compose'] }
}

export interface ComposeProjectOptions {
  /** The lab's engine; absent: the Docker the environment points at (DOCKER_HOST, or the default socket). */
  paths?: EnginePaths
  /** The project name (-p): its containers, networks and volumes carry it. */
  name: string
  files: string[]
  /** Interpolated into the files (REDIS_PASSWORD, LB_PORT, SL_TEST_*). */
  variables: Record<string, string>
}

export type Health = 'healthy' | 'unhealthy' | 'starting' | 'running' | 'exited' | 'missing'

/**
 * One compose project on the lab's engine, and the moves a lesson makes on it:
 * up, down, restart or recreate a service, its container, address, health and
 * published port, a command inside it, its network cable pulled and put back.
 */
export class ComposeProject {
  readonly paths: EnginePaths | undefined
  readonly name: string
  readonly #files: string[]
  readonly #variables: Record<string, string>

  constructor (options: ComposeProjectOptions) {
    this.paths = options.paths
    this.name = options.name
    this.#files = options.files
    this.#variables = options.variables
  }

  /** docker-compose -p <name> -f ... <args>, from the project folder. */
  compose (args: string[], timeoutMs?: number): Promise<Output> {
    const { binary, prefix } = composeCommand()
    const files = this.#files.flatMap((file) => ['-f', file])
    return runTool(binary, [...prefix, '-p', this.name, ...files, ...args], {
      env: engineEnv(this.paths, this.#variables), cwd: PROJECT_DIR, ...(timeoutMs ? { timeoutMs } : {})
    })
  }

  docker (args: string[]): Promise<Output> {
    return docker(this.paths, args)
  }

  /** up -d --build: a cold build (npm ci twice over a slow network, on a busy machine) took over 10 minutes here. */
  up (): Promise<Output> {
    return this.compose(['up', '-d', '--build'], 45 * 60_000)
  }

  /**
   * Stops and removes the containers and networks, and with `volumes` the named volumes (down -v).
   * A network whose cable was pulled and put back under load once kept an endpoint
   * of a container already gone ("network … has active endpoints"), and down failed
   * on it: such endpoints are force-disconnected and down runs once more.
   */
  async down ({ volumes = true } = {}): Promise<Output> {
    const args = ['down', '--timeout', '30', ...(volumes ? ['-v'] : [])]
    try {
      return await this.compose(args)
    } catch (err) {
      if (!/active endpoints/.test((err as Error).message)) throw err
      await this.#dropStaleEndpoints()
      return this.compose(args)
    }
  }

  async #dropStaleEndpoints (): Promise<void> {
    const { stdout } = await this.docker(['network', 'ls', '-q', '--filter', `label=com.docker.compose.project=${this.name}`])
    for (const network of stdout.trim().split('\n').filter(Boolean)) {
      const endpoints = (await this.docker(['network', 'inspect', '--format', '{{range .Containers}}{{.Name}} {{end}}', network])).stdout.trim().split(' ').filter(Boolean)
      for (const endpoint of endpoints) await this.docker(['network', 'disconnect', '--force', network, endpoint]).catch(() => {})
    }
  }

  restart (service: string): Promise<Output> {
    return this.compose(['restart', service])
  }

  /** A new container for `service` (its others untouched): what a redeploy does. */
  recreate (service: string): Promise<Output> {
    return this.compose(['up', '-d', '--no-deps', '--force-recreate', service])
  }

  /**
   * A redeploy where the new container gets another address, as it does when the
   * old address was taken meanwhile (the engine hands out the lowest free one, so a
   * plain recreate often gets the same): stop the service, hold its address with a
   * placeholder (its own image, `sleep`), start a new container, drop the placeholder.
   * Says how long the old one took to stop and the new one to start.
   */
  async replaceWithNewAddress (service: string, network = 'lab'): Promise<{ before: string, after: string, stopMs: number, startMs: number }> {
    const old = await this.#requireContainer(service)
    const before = await this.address(service, { network })
    const image = (await this.docker(['inspect', '--format', '{{.Config.Image}}', old])).stdout.trim()
    const started = performance.now()
    await this.compose(['stop', service])
    const stopMs = Math.round(performance.now() - started)
    const placeholder = (await this.docker(['run', '-d', '--rm', '--network', this.networkName(network), '--ip', before,
      '--label', `com.docker.compose.project=${this.name}`, '--entrypoint', 'sleep', image, '3600'])).stdout.trim()
    try {
      await this.compose(['up', '-d', '--no-deps', '--force-recreate', service])
    } finally {
      await this.docker(['rm', '-f', placeholder])
    }
    return { before, after: await this.address(service, { network }), stopMs, startMs: Math.round(performance.now() - started) - stopMs }
  }

  /** The IDs of the service's containers, in Compose's numbering (api_1, api_2...). */
  async containers (service: string): Promise<string[]> {
    const { stdout } = await this.docker(['ps', '-a', '--format', '{{.ID}} {{.Label "com.docker.compose.container-number"}}',
      '--filter', `label=com.docker.compose.project=${this.name}`, '--filter', `label=com.docker.compose.service=${service}`])
    return stdout.trim().split('\n').filter(Boolean).map((line) => line.split(' '))
      .sort((a, b) => Number(a[1]) - Number(b[1])).map(([id]) => id!)
  }

  /** The ID of the service's first container, or null. */
  async containerId (service: string): Promise<string | null> {
    return (await this.containers(service))[0] ?? null
  }

  /** `container` when given (one of the service's, when it runs several), else the service's first. */
  async #requireContainer (service: string, container?: string): Promise<string> {
    const id = container ?? await this.containerId(service)
    if (id === null) throw new EngineError(`no container for service ${service} in project ${this.name}`)
    return id
  }

  /**
   * Runs `count` containers of `service`, leaving the others as they are (no
   * recreate, no build, no dependency touched): Compose adds or removes the
   * highest-numbered ones.
   */
  scale (service: string, count: number): Promise<Output> {
    return this.compose(['up', '-d', '--no-deps', '--no-recreate', '--no-build', '--scale', `${service}=${count}`, service])
  }

  /** The container's environment as set by the compose file (INSTANCES, STORE...). */
  async environment (service: string): Promise<Record<string, string>> {
    const { stdout } = await this.docker(['inspect', '--format', '{{json .Config.Env}}', await this.#requireContainer(service)])
    return Object.fromEntries((JSON.parse(stdout) as string[]).map((entry) => {
      const at = entry.indexOf('=')
      return [entry.slice(0, at), entry.slice(at + 1)]
    }))
  }

  /** Docker's view of a service's container (its first, or `container`): its healthcheck status, else whether it runs. */
  async health (service: string, container?: string): Promise<Health> {
    const id = container ?? await this.containerId(service)
    if (id === null) return 'missing'
    const { stdout } = await this.docker(['inspect', '--format', '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}', id])
    const [state, health] = stdout.trim().split(' ')
    if (health) return health as Health
    return state === 'running' ? 'running' : 'exited'
  }

  /** Waits until the healthcheck of every container of every service says healthy; the error names those that are not. */
  async waitHealthy (services: string[], timeoutMs = 120_000): Promise<void> {
    let last: Record<string, Health> = {}
    const healthOf = async (service: string): Promise<Array<[string, Health]>> => {
      const containers = await this.containers(service)
      if (containers.length === 0) return [[service, 'missing']]
      return Promise.all(containers.map(async (id, i) => [i === 0 ? service : `${service}_${i + 1}`, await this.health(service, id)] as [string, Health]))
    }
    try {
      await waitFor('healthy services', async () => {
        last = Object.fromEntries((await Promise.all(services.map(healthOf))).flat())
        return Object.values(last).every((h) => h === 'healthy')
      }, timeoutMs, 500)
    } catch {
      throw new EngineError(`not healthy after ${timeoutMs / 1000} s: ${JSON.stringify(last)}`)
    }
  }

  /** The host port the service's container `port` is published on. */
  async publishedPort (service: string, port: number): Promise<number> {
    const { stdout } = await this.docker(['port', await this.#requireContainer(service), `${port}/tcp`])
    const published = Number(/:(\d+)\s*$/m.exec(stdout)?.[1])
    if (!Number.isInteger(published) || published <= 0) throw new EngineError(`${service}:${port} is not published (${stdout.trim()})`)
    return published
  }

  /** The container's address on the project's network `network` (e.g. "lab"); empty when it is not on it. */
  async address (service: string, { network = 'lab', container }: { network?: string, container?: string } = {}): Promise<string> {
    const { stdout } = await this.docker(['inspect', '--format',
      `{{with index .NetworkSettings.Networks "${this.networkName(network)}"}}{{.IPAddress}}{{end}}`, await this.#requireContainer(service, container)])
    return stdout.trim()
  }

  /** Runs a command in the service's container (as its image's user unless `user`). */
  async exec (service: string, command: string[], { user, container }: { user?: string, container?: string } = {}): Promise<Output> {
    return this.docker(['exec', ...(user ? ['--user', user] : []), await this.#requireContainer(service, container), ...command])
  }

  /** The engine's name for one of the project's networks. */
  networkName (network: string): string {
    return `${this.name}_${network}`
  }

  /** Pulls the container's cable: gone from the network, and its name with it. */
  async disconnect (service: string, { network = 'lab', container }: { network?: string, container?: string } = {}): Promise<void> {
    await this.docker(['network', 'disconnect', this.networkName(network), await this.#requireContainer(service, container)])
  }

  /** Puts it back, with its service name as an alias (and `ipv4`: the address it had, as a cable put back keeps it). */
  async connect (service: string, { network = 'lab', ipv4, container }: { network?: string, ipv4?: string, container?: string } = {}): Promise<void> {
    await this.docker(['network', 'connect', '--alias', service, ...(ipv4 ? ['--ip', ipv4] : []),
      this.networkName(network), await this.#requireContainer(service, container)])
  }

  /** What the engine still holds of the project: containers, networks, volumes (all empty after down -v). */
  async leftovers (): Promise<{ containers: string[], networks: string[], volumes: string[] }> {
    const label = `label=com.docker.compose.project=${this.name}`
    const list = async (args: string[]) => (await this.docker(args)).stdout.trim().split('\n').filter(Boolean)
    return {
      containers: await list(['ps', '-aq', '--filter', label]),
      networks: await list(['network', 'ls', '-q', '--filter', label]),
      volumes: await list(['volume', 'ls', '-q', '--filter', label])
    }
  }
}
