import type { Mix } from './mix.js'
import { Count, MixOption, Rate } from '../lessons/options.js'

/**
 * The steady mixed load every drill runs under, as options every drill lesson
 * takes: `--mix`, `--connections`, `--rate`. Their defaults live here only.
 */
export const DrillLoadOptions = {
  mix: MixOption('root:25,kv-get:25,kv-set:25,incr:25', 'request mix: weights of GET /, GET /kv, POST /kv, POST /counters/incr'),
  connections: Count(16, 'concurrent connections of the load'),
  rate: Rate('1000', 'requests per second ("max": as fast as answers come)')
}

/** That load, decoded. */
export interface DrillLoad {
  mix: Mix
  connections: number
  /** Requests per second (undefined: as fast as answers come). */
  rate: number | undefined
  /** The load's model (default closed: autocannon's connections; open: on a schedule, see traffic.ts). */
  model?: 'closed' | 'open'
}
