import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, freePortRange } from '../system/ports.js'
import { stackSettings, type StackSettings } from './settings.js'

/**
 * Settings for a stack of its own that touches nothing else: a temporary state
 * folder and free ports (the lab's journey and the end-to-end tests use it).
 * Ignores the environment's stack variables.
 */
export async function freshStackSettings (overrides: Partial<StackSettings> = {}): Promise<StackSettings> {
  const instances = overrides.instances ?? 4
  return stackSettings({
    dir: mkdtempSync(join(tmpdir(), 'sl-stack-')),
    // The API range comes from below the kernel's ephemeral ports, the two single
    // ports from within them: they cannot land on each other.
    apiBasePort: await freePortRange(instances),
    lbPort: await freePort(),
    redisPort: await freePort(),
    instances,
    ...overrides
  }, {})
}
