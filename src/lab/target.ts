/**
 * What the load, the consistency check and the drills' skeleton need of a
 * stack, whichever it is: the local one (`npm start`: processes on this
 * machine, stack/running-stack.ts) or the compose one (`docker compose up`: the
 * same parts in containers, containers/compose-target.ts). A fault that needs
 * more (PM2's home, Redis' PID, a container's network cable) takes the concrete
 * stack it works on: which faults a stack supports is in their types.
 */
import type { StoreKind } from '../shared/contract.js'

/** An answer from one instance, asked directly rather than through nginx. */
export interface InstanceAnswer {
  status: number
  body: string
}

export interface StackTarget {
  /** Which stack it is, for labels: the local one, or a compose project. */
  kind: 'local' | 'compose'
  /** Says which stack in a line ("compose project scale-lab"). */
  name: string
  /** nginx, where clients go: http://127.0.0.1:<port>. */
  base: string
  store: StoreKind
  /** The instances' names, as their x-instance header says them (api-1...). */
  instances: string[]
  /** GET `path` of every instance directly, not through nginx: on this machine (local), inside the api container (compose). */
  askEachInstance (path: string): Promise<Record<string, InstanceAnswer>>
  /** The first instance's URL a load on this machine can reach directly, or null (in containers they are not published). */
  directUrl: string | null
  /** The Prometheus that scrapes each instance (http://127.0.0.1:PROM_PORT), when one runs with the stack: drills read their series from it. */
  prometheus?: string
}
