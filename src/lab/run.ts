import { randomBytes } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { basename, join, resolve } from 'node:path'
import { REPORTS_DIR } from './paths.js'
import { textTable } from './report/text-table.js'
import type { AnyResult, RunMeta, Verdict } from './results.js'
import { redisVersion } from './system/redis-server.js'
import { nginxVersion } from './stack/nginx.js'

/** 2026-11-28T01-20-00Z: a run folder's name, from its start time (no colons: valid on every file system). */
export function runName (date: Date): string {
  return date.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-')
}

/** A run folder: reports/<UTC time>/ unless `out` names one. Created if missing. */
export function runDir (out?: string): string {
  const dir = out ? resolve(out) : join(REPORTS_DIR, runName(new Date()))
  mkdirSync(dir, { recursive: true })
  return dir
}

/** Where and when: the header of every result file. */
export async function runMeta (dir: string): Promise<RunMeta> {
  const redis = await redisVersion()
  // Without an nginx binary, nginxVersion rejects: no version to record.
  const nginx = await nginxVersion().catch(() => undefined)
  return {
    run: basename(dir),
    startedAt: new Date().toISOString(),
    host: {
      cpus: cpus().length,
      node: process.version,
      ...(nginx ? { nginx } : {}),
      ...(redis ? { redis } : {})
    }
  }
}

export function writeResult (dir: string, file: string, result: AnyResult): string {
  const path = join(dir, file)
  writeFileSync(path, JSON.stringify(result, null, 2) + '\n')
  return path
}

/** A short id naming one run's keys, counters and Idempotency-Keys. */
export function newRunId (): string {
  return `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`
}

/** Prints a verdict as a table; informational rows are marked "(info)" and do not decide. */
export function printVerdict (title: string, verdict: Verdict, log: (line: string) => void = console.log): void {
  const rows = verdict.checks.map((c) => [c.pass ? 'PASS' : 'FAIL', c.informational ? `${c.name} (info)` : c.name, c.expected, c.actual])
  log('')
  log(`${title}: ${verdict.pass ? 'PASS' : 'FAIL'}`)
  for (const line of textTable(['', 'check', 'expected', 'measured'], rows).split('\n')) log(line)
}
