/**
 * The result files the lab writes under reports/<run>/ and the report renders.
 * This is the contract between the producers (load, drills, check, bench) and
 * the consumer (report): TypeBox schemas in results/, a file per kind, each
 * schema `XSchema` with its type `X` (Static<>), as the service's schemas do. Every file is JSON with a `kind`; times are
 * milliseconds unless a name says otherwise. Fields added later are optional,
 * so files of an earlier version still read; a file that does not fit is named
 * with the field that does not (results/problems.ts).
 */
import type { BenchResult } from './results/bench.js'
import type { CheckResult } from './results/check.js'
import type { DrillResult } from './results/drill.js'
import type { LoadResult } from './results/load.js'
import type { OverloadResult } from './results/overload.js'
import type { RateLimitResult } from './results/rate-limit.js'

export * from './results/common.js'
export * from './results/drill.js'
export * from './results/prometheus.js'
export * from './results/abuse.js'
export * from './results/check.js'
export * from './results/load.js'
export * from './results/bench.js'
export * from './results/overload.js'
export * from './results/rate-limit.js'
export { problemsOf } from './results/problems.js'

export type AnyResult = DrillResult | CheckResult | LoadResult | BenchResult | OverloadResult | RateLimitResult
