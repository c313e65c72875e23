/**
 * Every section of the report, in the order a newcomer should read them. Each
 * appears only when the run folder holds its data. The report's writers and the
 * bench's console output build from this one list.
 */
import type { Section } from '../document.js'
import type { RunData } from '../read-run.js'
import { abuseSection } from './abuse.js'
import { consistencySection } from './consistency.js'
import { drillsSection } from './drills.js'
import { k6Section } from './k6.js'
import { latencySection } from './latency.js'
import { loadRunsSection } from './load-runs.js'
import { overloadSection } from './overload.js'
import { rateLimitSection } from './rate-limit.js'
import { scalingSection } from './scaling.js'
import { summarySection } from './summary.js'
import { throughputSection } from './throughput.js'

const SECTIONS: Array<(run: RunData) => Section | null> = [
  summarySection, throughputSection, latencySection, scalingSection, drillsSection, overloadSection, rateLimitSection, abuseSection, consistencySection, loadRunsSection, k6Section
]

export function buildSections (run: RunData): Section[] {
  return SECTIONS.map((build) => build(run)).filter((section) => section !== null)
}
