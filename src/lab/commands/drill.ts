import { constants } from 'node:os'
import { InvalidArgumentError, Option, type Command } from 'commander'
import { killDrill } from '../drills/kill.js'
import { reloadDrill } from '../drills/reload.js'
import { redisDrill } from '../drills/redis.js'
import { consistencyCheck } from '../drills/check.js'
import { useStack } from '../drills/running-stack.js'
import { parseMix } from '../drills/traffic.js'
import { DRILL_LOAD_DEFAULTS, type DrillIo, type DrillLoad } from '../drills/drill-io.js'
import type { CheckResult, DrillResult } from '../results.js'
import { printVerdict, runDir, runMeta, writeResult } from '../run.js'
import type { StackSettings } from '../stack/settings.js'

const io: DrillIo = { say: (line) => console.log(line) }

/** "2s", "500ms", "1m", "30" (seconds) → seconds, more than zero. */
export function parseSeconds (text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim())
  if (!match) throw new InvalidArgumentError(`"${text}" is not a duration such as 2s, 500ms or 1m`)
  const value = Number(match[1])
  const seconds = match[2] === 'ms' ? value / 1000 : match[2] === 'm' ? value * 60 : value
  if (!(seconds > 0)) throw new InvalidArgumentError(`"${text}" must be longer than zero`)
  return seconds
}

function positiveInt (text: string): number {
  const value = Number(text)
  if (!Number.isInteger(value) || value < 1) throw new InvalidArgumentError(`"${text}" is not a whole number ≥ 1`)
  return value
}

/** A signal name the OS knows (SIGKILL, SIGTERM...), not a number or a typo. */
function signalName (text: string): NodeJS.Signals {
  if (!(text in constants.signals) || !text.startsWith('SIG')) {
    throw new InvalidArgumentError(`"${text}" is not a signal name such as SIGKILL or SIGTERM`)
  }
  return text as NodeJS.Signals
}

/** Runs one drill or check against the stack, writes its JSON, prints its verdict, sets the exit code. */
async function runAgainstStack (
  changes: Partial<StackSettings>,
  file: string,
  out: string | undefined,
  body: (stack: Awaited<ReturnType<typeof useStack>>, meta: Awaited<ReturnType<typeof runMeta>>) => Promise<DrillResult | CheckResult>
): Promise<void> {
  const dir = runDir(out)
  const meta = await runMeta(dir)
  const stack = await useStack(changes, io.say)
  let result: DrillResult | CheckResult
  try {
    result = await body(stack, meta)
  } finally {
    await stack.release()
  }
  const path = writeResult(dir, file, result)
  printVerdict(result.kind === 'check' ? `check (${result.store})` : `drill ${result.drill}`, result.verdict)
  console.log(`\nResult: ${path}   (render it: npx scale-lab report ${dir})`)
  if (!result.verdict.pass) process.exitCode = 1
}

const outOption = () => new Option('--out <dir>', 'run folder for the JSON result (default: reports/<time>)')

/** The steady mixed load every drill runs under. */
function withLoadOptions (command: Command): Command {
  return command
    .option('--mix <weights>', 'request mix', DRILL_LOAD_DEFAULTS.mix)
    .option('--connections <n>', 'concurrent connections of the load', String(DRILL_LOAD_DEFAULTS.connections))
    .option('--rate <n>', 'requests per second ("max": as fast as answers come)', String(DRILL_LOAD_DEFAULTS.rate))
}

interface LoadFlags { mix: string, connections: string, rate: string }

function loadOptions (o: LoadFlags): DrillLoad {
  let mix
  try {
    mix = parseMix(o.mix)
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message)
  }
  return {
    mix,
    connections: positiveInt(o.connections),
    ...(o.rate === 'max' ? {} : { rate: positiveInt(o.rate) })
  }
}

/** `drill kill|reload|redis` and `check`: each lesson as a verdict. */
export function registerDrillCommands (program: Command): void {
  const drill = program.command('drill').description('inject a fault under load and audit what clients saw and what the store kept')

  withLoadOptions(drill.command('kill')
    .description('kill a random PM2 worker by PID every interval, under a steady mixed load')
    .option('--every <duration>', 'time between kills', '2s')
    .option('--duration <duration>', 'how long the load runs', '30s')
    .option('--signal <signal>', 'signal to kill with', 'SIGKILL'))
    .option('--no-retry', 'the "before": nginx without non_idempotent, so POSTs to a dead worker are not retried')
    .option('--ready-within <duration>', "the verdict's bound on a killed worker's time to serve again", '1.5s')
    .addOption(outOption())
    .action(async (o: LoadFlags & { every: string, duration: string, signal: string, retry: boolean, readyWithin: string, out?: string }) => {
      const options = {
        ...loadOptions(o),
        everySeconds: parseSeconds(o.every),
        durationSeconds: parseSeconds(o.duration),
        signal: signalName(o.signal),
        readyWithinMs: parseSeconds(o.readyWithin) * 1000
      }
      if (!o.retry) io.say('The "before" picture: nginx will not retry POSTs on another instance (expect this to fail).')
      await runAgainstStack(o.retry ? {} : { retryNonIdempotent: false }, o.retry ? 'kill.json' : 'kill-no-retry.json', o.out,
        (stack, meta) => killDrill(stack, options, meta, io))
    })

  withLoadOptions(drill.command('reload')
    .description('rolling `pm2 reload` of every app, one at a time, under load')
    .option('--duration <duration>', 'the longest the load may run: from 2 s before the first reload to 2 s after the last', '60s'))
    .addOption(outOption())
    .action(async (o: LoadFlags & { duration: string, out?: string }) => {
      const options = { ...loadOptions(o), durationSeconds: parseSeconds(o.duration) }
      await runAgainstStack({}, 'reload.json', o.out, (stack, meta) => reloadDrill(stack, options, meta, io))
    })

  withLoadOptions(drill.command('redis')
    .description('stop Redis under load, keep it down, restart it from its AOF')
    .option('--down <duration>', 'how long Redis stays down', '5s')
    .option('--hard', 'SIGKILL instead of SIGTERM (shows what appendfsync loses)')
    .addOption(new Option('--fsync <policy>', 'appendfsync during the drill').choices(['everysec', 'always']).default('everysec')))
    .addOption(outOption())
    .action(async (o: LoadFlags & { down: string, hard?: boolean, fsync: 'everysec' | 'always', out?: string }) => {
      const options = { ...loadOptions(o), downSeconds: parseSeconds(o.down), hard: o.hard === true, fsync: o.fsync }
      const file = options.hard ? `redis-hard-${options.fsync}.json` : 'redis.json'
      await runAgainstStack({}, file, o.out, (stack, meta) => redisDrill(stack, options, meta, io))
    })

  program.command('check')
    .description('the seed\'s last step: write unique keys and read them back through nginx, count concurrently')
    .addOption(new Option('--store <store>', 'the store to check').choices(['redis', 'memory']).default('redis'))
    .option('--keys <n>', 'unique keys written and read back', '2000')
    .option('--concurrency <n>', 'concurrent connections', '50')
    .addOption(outOption())
    .action(async (o: { store: 'redis' | 'memory', keys: string, concurrency: string, out?: string }) => {
      const options = { keys: positiveInt(o.keys), concurrency: positiveInt(o.concurrency) }
      await runAgainstStack({ store: o.store }, `check-${o.store}.json`, o.out, (stack, meta) => consistencyCheck(stack, options, meta, io))
    })
}
