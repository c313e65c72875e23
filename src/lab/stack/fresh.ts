import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, freePortRange } from '../system/ports.js'
import { LIST_PORTS, SINGLE_PORTS, stackSettings, type StackSettings } from './settings.js'

/**
 * Settings for a stack of its own that touches nothing else: a temporary state
 * folder and free ports (the lab's journey and the end-to-end tests use it).
 * Ignores the environment's stack variables.
 */
export async function freshStackSettings (overrides: Partial<StackSettings> = {}): Promise<StackSettings> {
  const instances = overrides.instances ?? 4
  // The API range comes from below the kernel's ephemeral ports, the single ports
  // from within them: they cannot land on each other, only on one another.
  const taken = new Set<number>()
  const port = async () => {
    let port = await freePort()
    while (taken.has(port)) port = await freePort()
    taken.add(port)
    return port
  }
  const ports: Partial<StackSettings> = {}
  for (const key of SINGLE_PORTS) ports[key] = await port()
  // The replicated store's too, in any mode: a fresh stack may be switched to sentinel mode.
  for (const key of LIST_PORTS) {
    const count = stackSettings({}, {})[key].length
    ports[key] = []
    for (let i = 0; i < count; i++) ports[key].push(await port())
  }
  return stackSettings({
    dir: mkdtempSync(join(tmpdir(), 'sl-stack-')),
    apiBasePort: await freePortRange(instances),
    ...ports,
    instances,
    ...overrides
  }, {})
}
