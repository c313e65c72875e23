import type { LoadTick } from './autocannon.js'

/** Milliseconds since a load started → seconds, as result files count time (two decimals). */
export function secondsSince (ms: number): number {
  return Math.round(ms / 10) / 100
}

/** One progress line a second: elapsed, req/s, errors. */
export function progressPrinter (say: (line: string) => void): (tick: LoadTick) => void {
  return (tick) => say(`  ${String(tick.elapsedSeconds).padStart(3)} s  ${String(tick.responses).padStart(6)} req/s  ${tick.errors} errors`)
}
