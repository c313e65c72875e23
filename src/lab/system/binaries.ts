import { accessSync, constants } from 'node:fs'
import { delimiter, join } from 'node:path'

/** Where Debian puts daemons; not on a normal user's PATH. */
const EXTRA_DIRS = ['/usr/sbin', '/usr/local/sbin', '/sbin']

/** The system packages the lab uses, and how to install each. */
export const INSTALL_HINTS: Record<string, string> = {
  'redis-server': 'sudo apt-get install -y redis-server   (macOS: brew install redis)',
  nginx: 'sudo apt-get install -y nginx   (macOS: brew install nginx)',
  wrk: 'sudo apt-get install -y wrk   (macOS: brew install wrk)',
  chromium: 'sudo apt-get install -y chromium',
  prometheus: 'sudo apt-get install -y prometheus   (or leave it out: OBSERVE=0)',
  'prometheus-nginx-exporter': 'sudo apt-get install -y prometheus-nginx-exporter   (or leave it out: OBSERVE=0)',
  'prometheus-redis-exporter': 'sudo apt-get install -y prometheus-redis-exporter   (or leave it out: OBSERVE=0)'
}

/** The absolute path of an executable on PATH (or in the sbin folders), or null. */
export function findBinary (name: string): string | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), ...EXTRA_DIRS].filter(Boolean)
  for (const dir of dirs) {
    const candidate = join(dir, name)
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {}
  }
  return null
}

export class MissingBinaryError extends Error {
  override name = 'MissingBinaryError'
}

/** Like findBinary, but a missing binary is an error that says how to install it. */
export function requireBinary (name: string): string {
  const path = findBinary(name)
  if (path === null) {
    throw new MissingBinaryError(`${name} is not installed. Install it with: ${INSTALL_HINTS[name] ?? name}  (or run: npm run setup)`)
  }
  return path
}
