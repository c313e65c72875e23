import type { DaemonSpec, Supervisor } from '../../system/supervisor.js'
import type { StackSettings } from '../settings.js'
import type { StackPaths } from '../state.js'

export class StackError extends Error {
  override name = 'StackError'
}

/** Progress lines for a person watching; tests pass a no-op. */
export type Say = (line: string) => void

/** What a part of the stack works with. */
export interface PartContext {
  settings: StackSettings
  paths: StackPaths
  /** The stack's daemons: adopted from state.json, and written back there as they start. */
  supervisor: Supervisor
  say: Say
}

export interface UpContext extends PartContext {
  /** The settings the stack ran with before this `up`, or null when it was down. */
  previous: StackSettings | null
  /** Registers how to undo a step of this `up`, should it fail or be interrupted (last registered, first undone). */
  undo (step: () => Promise<unknown>): void
}

/**
 * One part of the local stack: Redis, the API apps, nginx, and whatever joins
 * them. `up` brings the parts up in order, `down` stops them in reverse.
 */
export interface StackPart {
  name: string
  /** Brings the part up, or makes it match ctx.settings; leaves alone what already runs as asked. */
  up (ctx: UpContext): Promise<void>
  /** Stops what the part runs; false when nothing was recorded as running. */
  down (ctx: PartContext): Promise<boolean>
}

/** One of the stack's daemons, as `status` reports it. */
export interface DaemonStatus {
  pid: number | null
  /** The recorded process still runs. */
  alive: boolean
  /** It answers on its port (PING, /nginx-health...). */
  answers: boolean
}

/** "redis      started (pid 12, ...)": the part's name in a column, then what happened. */
export function sayPart (ctx: PartContext, name: string, what: string): void {
  ctx.say(`${name.padEnd(10)} ${what}`)
}

/** A daemon of the stack that the supervisor runs: what daemonPart needs to know of it. */
export interface DaemonDefinition {
  name: string
  /** Its port, for a daemon that listens. */
  port?: (settings: StackSettings) => number
  spec: (ctx: PartContext) => DaemonSpec
  answers: (settings: StackSettings) => Promise<boolean>
  /** Throws a StackError saying why it cannot listen on its port; checked before it starts. */
  checkPort?: (settings: StackSettings) => Promise<void>
  /** Added to the "started" line. */
  detail?: (settings: StackSettings) => string
  /** Writes its configuration before anything else; resolves true when the configuration changed. */
  configure?: (ctx: PartContext) => Promise<boolean>
  /** Applies a changed configuration to the running process (nginx: SIGHUP). */
  reload?: (pid: number) => Promise<void>
  /** Waits, once it is up, for what it should reach (nginx: every instance). */
  settle?: (ctx: PartContext) => Promise<void>
}

export interface DaemonPart extends StackPart {
  status (ctx: PartContext): Promise<DaemonStatus>
}

/**
 * A stack part that is one daemon: left alone when the process recorded under
 * its name still runs and answers (reloaded if its configuration changed), else
 * started once its port checks out, and stopped again should this `up` fail.
 * A new kind of daemon for the stack (a Sentinel, Prometheus, an exporter) is a
 * DaemonDefinition and a place in the stack's PARTS.
 */
export function daemonPart (daemon: DaemonDefinition): DaemonPart {
  const { name } = daemon
  return {
    name,
    async up (ctx) {
      const { settings, supervisor } = ctx
      const changed = await daemon.configure?.(ctx) ?? false
      const running = supervisor.record(name)
      const port = daemon.port === undefined ? undefined : `port ${daemon.port(settings)}`
      if (running !== undefined && supervisor.isRunning(name) && await daemon.answers(settings)) {
        if (changed && daemon.reload !== undefined) {
          await daemon.reload(running.pid)
          sayPart(ctx, name, `reloaded with the new configuration (pid ${running.pid})`)
        } else {
          sayPart(ctx, name, `already up (${[`pid ${running.pid}`, port].filter(Boolean).join(', ')})`)
        }
      } else {
        await daemon.checkPort?.(settings)
        ctx.undo(() => supervisor.stop([name]))
        const { pid } = await supervisor.start(daemon.spec(ctx))
        sayPart(ctx, name, `started (${[`pid ${pid}`, port, daemon.detail?.(settings)].filter(Boolean).join(', ')})`)
      }
      await daemon.settle?.(ctx)
    },
    async down (ctx) {
      const record = ctx.supervisor.record(name)
      if (record === undefined) return false
      await ctx.supervisor.stop([name])
      sayPart(ctx, name, `stopped (pid ${record.pid})`)
      return true
    },
    async status ({ settings, supervisor }) {
      return { pid: supervisor.record(name)?.pid ?? null, alive: supervisor.isRunning(name), answers: await daemon.answers(settings) }
    }
  }
}
