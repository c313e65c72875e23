import type { Command } from 'commander'
import { EngineError, enginePaths, stopEngine } from '../containers/engine.js'
import { BASE_TAG, imageSizes, STANDINS } from '../containers/standins.js'
import { prepareTestEnv } from '../containers/test-env.js'

const say = (line: string) => console.log(line)

/** `docker-test-env`: the lab's own Docker engine and the stand-in images (npm run docker:test-env). */
export function registerContainerCommands (program: Command): void {
  program.command('docker-test-env')
    .description("start the lab's own Docker engine (never a user's) and build the stand-in images; prints DOCKER_HOST=… last. Idempotent")
    .option('--stop', 'stop the engine this command started (by its PID)')
    .option('--rebuild', 'rebuild the stand-in images even when their inputs did not change')
    .action(async (options: { stop?: boolean, rebuild?: boolean }) => {
      try {
        if (options.stop) await stop()
        else await start(options.rebuild === true)
      } catch (err) {
        if (!(err instanceof EngineError)) throw err
        console.error(`scale-lab: ${err.message}`)
        process.exitCode = 1
      }
    })
}

async function start (rebuild: boolean): Promise<void> {
  const started = performance.now()
  const env = await prepareTestEnv({ hold: 'keep', rebuild }, say)
  const sizes = await imageSizes(env.paths, [BASE_TAG, ...STANDINS.map((s) => s.tag)])
  for (const build of env.images) {
    const replaces = STANDINS.find((s) => s.tag === build.tag)?.replaces
    console.log(`  ${build.tag.padEnd(38)} ${String(sizes[build.tag]).padStart(6)} MB  ${build.built ? `built in ${build.seconds} s` : 'cached'}${replaces ? `  (for ${replaces})` : ''}`)
  }
  const engine = env.engine.started ? `started (pid ${env.engine.pid})` : `already running (pid ${env.engine.pid ?? '?'})`
  console.log(`The lab's Docker engine is ${engine}, images ready in ${((performance.now() - started) / 1000).toFixed(1)} s.`)
  console.log('  Stop it with: npm run docker:test-env -- --stop. Use it with the line below (export it), then:')
  console.log('  REDIS_PASSWORD=… LB_PORT=8080 docker-compose -f docker-compose.yml -f docker-compose.test.yml up -d --build')
  console.log(`DOCKER_HOST=${env.dockerHost}`)
}

async function stop (): Promise<void> {
  const paths = enginePaths()
  console.log(await stopEngine(paths) ? `Stopped the lab's Docker engine (${paths.socket}).` : "The lab's Docker engine was not running.")
}
