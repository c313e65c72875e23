// What a running local stack costs while idle: CPU seconds a minute of each of its
// parts (from /proc, utime + stime, children included), over `windows` windows of
// `seconds` each, and the machine's own busy time over the same windows.
//   node scripts/idle-cpu.js [seconds=60] [windows=3]     (STACK_DIR as for npm start)
// Compare `npm start` with `OBSERVE=0 npm start` to see what scraping costs
// (docs/observability.md, "What the metrics cost"). Needs `npm run build`.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { clockTicks, cpuSecondsBetween, machineSeconds, parentMap, snapshot, withDescendants } from '../dist/lab/bench/proc-cpu.js'
import { readState, stackPaths } from '../dist/lab/stack/state.js'
import { stackDir } from '../dist/lab/stack/settings.js'

const [seconds = 60, windows = 3] = process.argv.slice(2).map(Number)
const dir = stackDir()
const state = readState(dir)
if (state === null) {
  console.error(`no stack runs from ${dir}: npm start first`)
  process.exit(1)
}

/** Each part's PIDs: the supervisor's daemons by name, PM2's daemon, and its apps (the instances). */
function groups () {
  const parents = parentMap()
  const pm2 = Number(readFileSync(join(stackPaths(dir).pm2Home, 'pm2.pid'), 'utf8'))
  const apps = [...parents].filter(([, ppid]) => ppid === pm2).map(([pid]) => pid)
  return {
    ...Object.fromEntries(Object.values(state.daemons).map((d) => [d.name, withDescendants([d.pid], parents)])),
    pm2: [pm2],
    instances: withDescendants(apps, parents)
  }
}

const cores = Number(readFileSync('/proc/cpuinfo', 'utf8').match(/^processor/gm)?.length ?? 1)
const perMinute = (cpu) => (cpu * 60 / seconds).toFixed(2)
const hz = clockTicks()
for (let w = 1; w <= windows; w++) {
  const pids = groups()
  const before = Object.fromEntries(Object.entries(pids).map(([name, list]) => [name, snapshot(list)]))
  const machineBefore = machineSeconds(hz)
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ')[0]
  await sleep(seconds * 1000)
  const machineAfter = machineSeconds(hz)
  const row = Object.entries(pids).map(([name, list]) => `${name} ${perMinute(cpuSecondsBetween(before[name], snapshot(list), hz))}`)
  const machine = machineBefore && machineAfter ? ((machineAfter.busy - machineBefore.busy) / seconds / cores * 100).toFixed(1) : '?'
  console.log(`window ${w}/${windows} (CPU s/min, load ${load}): ${row.join(', ')}; machine ${machine}% busy`)
}
