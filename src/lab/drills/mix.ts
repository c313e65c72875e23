/** The steady mixed load's requests and their weights (the k6 scripts' `MIX` format). */

/** Relative weights of the four requests of the steady mix. */
export interface Mix {
  root: number
  kvGet: number
  kvSet: number
  incr: number
}

export type Operation = keyof Mix

const MIX_NAMES: Record<string, Operation> = { root: 'root', 'kv-get': 'kvGet', 'kv-set': 'kvSet', incr: 'incr' }

/** "root:25,kv-get:25,kv-set:25,incr:25" → weights. */
export function parseMix (text: string): Mix {
  const mix: Mix = { root: 0, kvGet: 0, kvSet: 0, incr: 0 }
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const [name = '', weight = ''] = part.split(':')
    const operation = MIX_NAMES[name]
    if (operation === undefined || !/^\d+$/.test(weight)) {
      throw new Error(`"${part}" is not <root|kv-get|kv-set|incr>:<whole number>`)
    }
    mix[operation] = Number(weight)
  }
  if (mix.root + mix.kvGet + mix.kvSet + mix.incr === 0) throw new Error('all weights are zero')
  return mix
}
