import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Command, InvalidArgumentError } from 'commander'
import t from 'tap'
import { Type, type TSchema } from 'typebox'
import { registerLessonCommands } from '../../src/lab/commands/lessons.js'
import { addFlags, flagOf, parseFlags } from '../../src/lab/lessons/flags.js'
import { LESSONS } from '../../src/lab/lessons/index.js'
import { Choice, Count, Duration, MixOption, OptionalList, Rate, SignalName, Switch } from '../../src/lab/lessons/options.js'
import { PROJECT_DIR } from '../../src/lab/paths.js'

const scripts = (JSON.parse(readFileSync(join(PROJECT_DIR, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts

t.test('every lesson is declared whole: a unique name, defaults that parse, a result file, an npm script', async (t) => {
  const names = LESSONS.map((l) => l.name)
  t.strictSame([...new Set(names)], names, 'names are unique')
  for (const lesson of LESSONS) {
    const defaults = parseFlags(lesson.options, {})
    t.match(lesson.resultFile(defaults), /^[a-z0-9-]+\.json$/, `${lesson.name}: result file`)
    t.equal(lesson.invalid?.(defaults), undefined, `${lesson.name}: its defaults fit together`)
    const script = lesson.command.join(':')
    t.equal(scripts[script], `node dist/lab/cli.js ${lesson.command.join(' ')}`, `npm run ${script} runs it`)
    for (const flags of lesson.lab ?? []) t.doesNotThrow(() => parseFlags(lesson.options, flags), `${lesson.name}: its lab run parses`)
  }
})

t.test('every lesson is a scale-lab command whose flags come from its options', async (t) => {
  const program = new Command('scale-lab').exitOverride()
  registerLessonCommands(program, LESSONS)
  for (const lesson of LESSONS) {
    const [first, second] = lesson.command
    const command = second === undefined
      ? program.commands.find((c) => c.name() === first)
      : program.commands.find((c) => c.name() === first)?.commands.find((c) => c.name() === second)
    t.ok(command, `scale-lab ${lesson.command.join(' ')}`)
    const flags = command!.options.map((o) => o.long)
    for (const [name, schema] of Object.entries(lesson.options.properties as Record<string, TSchema>)) t.ok(flags.includes(flagOf(name, schema)), `${lesson.name}: ${flagOf(name, schema)}`)
    t.ok(flags.includes('--out'), `${lesson.name}: --out`)
  }
})

const options = Type.Object({
  every: Duration('2s', 'time between'),
  count: Count(3, 'how many'),
  rate: Rate('1000', 'per second'),
  mix: MixOption('root:1', 'mix'),
  signal: SignalName('SIGKILL', 'signal'),
  store: Choice(['redis', 'memory'], 'redis', 'store'),
  retry: Switch(true, 'no retries'),
  hard: Switch(false, 'harder'),
  cells: OptionalList('cells')
})

t.test('flag text decodes to what the lessons use', async (t) => {
  t.strictSame(parseFlags(options, {}), {
    every: 2, count: 3, rate: 1000, mix: { root: 1, kvGet: 0, kvSet: 0, incr: 0 }, signal: 'SIGKILL', store: 'redis', retry: true, hard: false
  }, 'the defaults, decoded')
  const given = parseFlags(options, { every: '500ms', count: '7', rate: 'max', mix: 'kv-get:3,incr:1', signal: 'SIGTERM', store: 'memory', retry: false, hard: true, cells: 'a, b,,c' })
  t.strictSame(given, {
    every: 0.5, count: 7, rate: undefined, mix: { root: 0, kvGet: 3, kvSet: 0, incr: 1 }, signal: 'SIGTERM', store: 'memory', retry: false, hard: true, cells: ['a', 'b', 'c']
  })
  t.equal(parseFlags(options, { every: '1m' }).every, 60)
})

t.test('a bad value is refused naming its flag and what was expected', async (t) => {
  const refused = (given: Record<string, unknown>, message: RegExp) => {
    let refusal: unknown
    try {
      parseFlags(options, given)
    } catch (err) {
      refusal = err
    }
    t.ok(refusal instanceof InvalidArgumentError, `${JSON.stringify(given)} is refused`)
    t.match((refusal as Error | undefined)?.message, message)
  }
  refused({ every: '2x' }, /^--every: "2x" is not a duration such as 2s/)
  refused({ every: '0s' }, /^--every: "0s" must be longer than zero/)
  refused({ count: '0' }, /^--count: "0" is not a whole number ≥ 1/)
  refused({ count: '2.5' }, /^--count: "2.5" is not a whole number ≥ 1/)
  refused({ rate: 'fast' }, /^--rate: "fast" is not a whole number ≥ 1 or "max"/)
  refused({ mix: 'kv:1' }, /^--mix: "kv:1" is not <root\|kv-get\|kv-set\|incr>/)
  refused({ mix: 'root:0' }, /^--mix: all weights are zero/)
  refused({ signal: 'SIGFOO' }, /^--signal: "SIGFOO" is not a signal name/)
  refused({ signal: '9' }, /^--signal: "9" is not a signal name/)
  refused({ store: 'disk' }, /^--store: "disk"/)
})

t.test('switches: off by default → --name, on by default → --no-name', async (t) => {
  t.equal(flagOf('hard', options.properties.hard), '--hard')
  t.equal(flagOf('retry', options.properties.retry), '--no-retry')
  t.equal(flagOf('readyWithin', Duration('1s', 'x')), '--ready-within')
  const command = addFlags(new Command('x').exitOverride(), options)
  command.parse(['--no-retry', '--every', '3s', '--store', 'memory'], { from: 'user' })
  t.match(parseFlags(options, command.opts()), { retry: false, every: 3, store: 'memory', hard: false })
})
