import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import t from 'tap'
import { CLI_SCRIPT, PROJECT_DIR } from '../src/lab/paths.js'
import { childEnv } from '../src/lab/system/process.js'

// The scale-lab command as a user runs it (the built dist/lab/cli.js, package.json's
// bin: `npm run build` first): a process of its own, so not in test/unit/.

const run = promisify(execFile)

t.test('the CLI refuses bad flags before it touches any stack, and says why', async (t) => {
  const cli = (args: string[]) => run(process.execPath, [CLI_SCRIPT, ...args], { cwd: PROJECT_DIR, env: childEnv({ STACK_DIR: '/nonexistent/scale-lab-test' }) })
    .then(() => ({ code: 0, stderr: '' }), (err: { code: number, stderr: string }) => ({ code: err.code, stderr: err.stderr }))
  const bad = await cli(['drill', 'kill', '--every', 'soon'])
  t.equal(bad.code, 1)
  t.match(bad.stderr, /scale-lab: --every: "soon" is not a duration/)
  const clash = await cli(['load', '--requests', '5', '--connections', '10'])
  t.equal(clash.code, 1)
  t.match(clash.stderr, /--requests must be at least --connections/)
})
