import { setTimeout as sleep } from 'node:timers/promises'
import { API_SERVICE, type ComposeTarget } from '../containers/compose-target.js'
import { waitFor } from '../system/process.js'
import { killChecks, observeRouted, recoveryRows, type Recovery } from './kill.js'
import type { Fault } from './run-drill.js'

export interface ComposeKillOptions {
  /** The verdict's bound on the killed instance's time to serve again. */
  readyWithinMs: number
}

/**
 * Run inside the api container (sh, argv $1: the instance): SIGKILL the PM2 app
 * whose environment says INSTANCE_ID=$1 (found in /proc: PIDs of the container's
 * own namespace), print its PID; exit 1 when there is none. A shell, not node:
 * a `docker exec` of node costs seconds more on a busy machine.
 */
const KILL_INSTANCE = `for d in /proc/[0-9]*; do
  if tr '\\0' '\\n' < "$d/environ" 2>/dev/null | grep -qx "INSTANCE_ID=$1"; then
    pid=\${d#/proc/}; kill -9 "$pid" && echo "$pid" && exit 0
  fi
done
exit 1`

/**
 * One PM2 instance SIGKILLed inside the api container, under the steady load:
 * pm2-runtime restarts it, nginx retries what it was serving on the others. The
 * verdict is the kill drill's: no client error, back within the bound (here:
 * answering a request through nginx again, the "routed" time).
 */
export function composeKillFault (target: ComposeTarget, options: ComposeKillOptions): Fault {
  const recoveries: Recovery[] = []
  const victim = target.instances[Math.floor(Math.random() * target.instances.length)]!
  return {
    drill: 'compose-kill',
    label: `compose kill ${victim} (${target.name})`,
    durationSeconds: 30,
    endAfterTimelineSeconds: 1,
    options: { instance: victim, project: target.project.name },
    timeline: async ({ now, mark, io }) => {
      await sleep(2000)
      const { stdout } = await target.project.exec(API_SERVICE, ['sh', '-c', KILL_INSTANCE, 'sh', victim])
      // Timed from the command's return (the worker is dead by then): the exec's own cost is not the worker's.
      const recovery: Recovery = { target: victim, killedAtMs: now(), deadAtMs: now(), readyAfterMs: null, routedAfterMs: null }
      recoveries.push(recovery)
      mark('kill', victim, `pid ${stdout.trim()} in the api container, SIGKILL`, recovery.killedAtMs)
      io.say(`  kill ${victim} (pid ${stdout.trim()} in the api container) at ${(recovery.killedAtMs / 1000).toFixed(1)} s`)
      // Back when it serves again through nginx (observe): asking it inside the container
      // would be a docker exec per try, seconds each on a busy machine.
      await waitFor(`${victim} to serve again`, () => recovery.routedAfterMs !== null, 30_000, 50).catch(() => {})
      recovery.readyAfterMs = recovery.routedAfterMs
    },
    observe: (answer, { mark }) => observeRouted(recoveries, answer, mark),
    judge: (_context, traffic) => killChecks(recoveries, options.readyWithinMs, traffic),
    details: () => ({ recoveries: recoveryRows(recoveries) })
  }
}
