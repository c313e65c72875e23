/**
 * reports/<run>/bench.json: the scaling matrix of one run, with everything a
 * reader needs computed once, when the bench ran (ratios, cost per request,
 * hot-path effects, targets, notes): the report shows these, never recomputes.
 */
import { Type, type Static, type TSchema } from 'typebox'
import { LatencySchema, LoadSummarySchema, Nullable, ResultSchema } from './common.js'

const NullableNumber = Nullable(Type.Number())

/** The process groups that serve a request, each with its figure. */
const perServerGroup = <T extends TSchema>(figure: T) => ({ nginx: figure, api: figure, redis: figure })

export const CpuSecondsSchema = Type.Object({ loadgen: Type.Number(), ...perServerGroup(Type.Number()) })
/** CPU seconds per process group during one run, from /proc. */
export type CpuSeconds = Static<typeof CpuSecondsSchema>

export const CpuCostSchema = Type.Object({
  /** nginx + API + Redis: what serving a request cost the machine (the load generator and softirqs left out). */
  server: NullableNumber,
  ...perServerGroup(NullableNumber)
})
/** Server CPU µs per request, split by process group (medians over the repetitions; null: no response). */
export type CpuCost = Static<typeof CpuCostSchema>

export const BenchCellSchema = Type.Object({
  /** Stable identifier, e.g. "nginx-4-kv-redis". */
  id: Type.String(),
  label: Type.String(),
  /** hot-path: the stack with one hot-path choice undone (logging, keepalive...), to measure what it is worth. */
  group: Type.Union([
    Type.Literal('baseline'), Type.Literal('ceiling'), Type.Literal('direct'), Type.Literal('balanced'),
    Type.Literal('store'), Type.Literal('cpu'), Type.Literal('hot-path')
  ]),
  /** What served it: the seed's Express, node:cluster, nginx alone, one instance direct, or nginx in front. */
  via: Type.Union([Type.Literal('express'), Type.Literal('cluster'), Type.Literal('nginx-only'), Type.Literal('direct'), Type.Literal('nginx')]),
  /** API instances behind it (null for nginx alone). */
  instances: NullableNumber,
  keepalive: Type.Optional(Type.Boolean()),
  route: Type.String(),
  store: Type.Optional(Type.Union([Type.Literal('redis'), Type.Literal('memory')])),
  /** Every repetition, in the order run (interleaved with the other cells). */
  runs: Type.Array(LoadSummarySchema),
  /** Medians over the repetitions. */
  median: Type.Object({
    rps: Type.Number(),
    latencyMs: Type.Pick(LatencySchema, ['p50', 'p90', 'p99']),
    errors: Type.Number()
  }),
  /** Median CPU seconds per repetition, per process group. */
  cpuSeconds: CpuSecondsSchema,
  cpuUsPerRequest: CpuCostSchema,
  /** req/s ÷ the baselines' (BenchResult.baselines), and the largest ÷ smallest req/s over the repetitions. */
  ratios: Type.Object({ vsDirect: NullableNumber, vsCeiling: NullableNumber, spread: NullableNumber }),
  /**
   * CPU seconds per run outside the groups: the kernel's softirqs (loopback networking, charged
   * to no process) and other processes (other work on a shared machine), median and worst.
   */
  machine: Type.Object({ softirq: NullableNumber, others: NullableNumber, othersWorst: NullableNumber })
})
/** One configuration of the bench matrix. */
export type BenchCell = Static<typeof BenchCellSchema>

export const BenchTargetSchema = Type.Object({
  /** Stable identifier, e.g. "store-through-stack". */
  id: Type.String(),
  name: Type.String(),
  /** How the number is computed, in words. */
  formula: Type.String(),
  value: NullableNumber,
  goal: Type.String(),
  /** null: not measured, or not judged on this machine. */
  met: Nullable(Type.Boolean()),
  /** What a request cost in the cells the target compares, shown beside it. */
  cost: Type.Array(Type.Object({ cell: Type.String(), cpuUsPerRequest: CpuCostSchema }))
})
/** A target the bench reports against (measured in the same run). */
export type BenchTarget = Static<typeof BenchTargetSchema>

export const HotPathChoiceSchema = Type.Object({ choice: Type.String(), with: Type.String(), without: Type.String() })
/** A choice the stack makes on its hot path: what it does (`with`), and what a bench variant does instead (`without`). */
export type HotPathChoice = Static<typeof HotPathChoiceSchema>

export const HotPathEffectSchema = Type.Object({
  /** The variant's cell id. */
  cell: Type.String(),
  ...HotPathChoiceSchema.properties,
  /** The stack's req/s ÷ the variant's: what the stack's choice is worth (> 1: it helps). */
  gain: NullableNumber,
  stackRps: NullableNumber,
  variantRps: Type.Number(),
  stackP99: NullableNumber,
  variantP99: Type.Number(),
  stackUsPerRequest: NullableNumber,
  variantUsPerRequest: NullableNumber
})
/** One hot-path choice undone, against the stack measured in the same run. */
export type HotPathEffect = Static<typeof HotPathEffectSchema>

export const OpenModelCostSchema = Type.Object({
  /**
   * Server CPU µs per request during the stack's open-model runs (medians). At a
   * fixed rate fewer requests share each wakeup of each process than in the
   * closed loop, so a request can cost more here than in the stack's cell.
   */
  cpuUsPerRequest: CpuCostSchema,
  /** Share of the machine's cores busy meanwhile, everything included (the load generator too), 0–1, median. */
  busyShare: NullableNumber
})
/** What serving the open model's rate cost: how near the machine it is to saturation. */
export type OpenModelCost = Static<typeof OpenModelCostSchema>

export const BenchResultSchema = ResultSchema('bench', {
  engine: Type.Union([Type.Literal('wrk'), Type.Literal('autocannon')]),
  repetitions: Type.Number(),
  durationSeconds: Type.Number(),
  connections: Type.Number(),
  /** "The stack" the targets speak of: its cell and what it is. */
  stack: Type.Object({ cell: Type.String(), description: Type.String() }),
  /** The cells the ratio columns compare with, by id (null: not in this run). */
  baselines: Type.Object({
    /** One instance asked directly, GET /: "× 1 direct". */
    direct: Nullable(Type.String()),
    /** nginx answering by itself: "× ceiling", the most anything behind it can reach. */
    ceiling: Nullable(Type.String())
  }),
  cells: Type.Array(BenchCellSchema),
  /** Latency the way SLOs are set: an open-model run at half the stack's measured max (the repetition with the median p99). */
  openModel: Nullable(LoadSummarySchema),
  /** The other open-model runs at that rate: the stack's other repetitions, and fewer instances for comparison. */
  openModelOthers: Type.Array(LoadSummarySchema),
  /** Absent without an open model (and in runs from before it was measured). */
  openModelCost: Type.Optional(OpenModelCostSchema),
  hotPath: Type.Array(HotPathEffectSchema),
  targets: Type.Array(BenchTargetSchema),
  /** How this run was made, in sentences (warm-up, order, the open model's generator...). */
  notes: Type.Array(Type.String())
})
/** reports/<run>/bench.json */
export type BenchResult = Static<typeof BenchResultSchema>
