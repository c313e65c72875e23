/**
 * The abuse drill's attacks, one row each: what the normal clients on 127.0.0.1
 * saw while it ran (their success and p99 against the targets), and what the
 * attacker got. The drill's timeline, audit and verdict are in the drills section.
 */
import type { AbusePhase, DrillResult } from '../../results.js'
import { ABUSE_BOUNDS, statusSummary } from '../../drills/abuse-phases.js'
import { chartName, COLORS } from '../chart-style.js'
import { chart, heading, resultsSection, table, text, type Block, type Section } from '../document.js'
import { formatCount, formatMs, formatNumber } from '../format.js'
import type { FromFile, RunData } from '../read-run.js'

/** The normal clients' p99 per attack, against the target line. */
function p99Chart (file: string, phases: AbusePhase[], targetMs: number): Block {
  const values = phases.map((p) => ({ phase: p.phase, p99: p.normal.p99Ms ?? 0 }))
  return chart(chartName('abuse', file, 'p99'), 'Normal clients\' p99 during each attack (ms, log scale)', {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: 420,
    height: 220,
    layer: [
      {
        data: { values },
        mark: { type: 'bar', color: COLORS.blue },
        encoding: {
          x: { field: 'phase', type: 'nominal', sort: null, title: null, axis: { labelAngle: 0 } },
          y: { field: 'p99', type: 'quantitative', title: 'p99 ms', scale: { type: 'symlog' } },
          tooltip: [{ field: 'phase' }, { field: 'p99' }]
        }
      },
      {
        data: { values: [{ target: targetMs }] },
        mark: { type: 'rule', color: COLORS.red, strokeDash: [4, 3] },
        encoding: { y: { field: 'target', type: 'quantitative' } }
      }
    ]
  })
}

function abuseBlocks ({ file, result }: FromFile<DrillResult>): Block[] {
  const phases = result.phases ?? []
  return [
    heading(`drill abuse: the attacks one by one (${file})`),
    table(['attack', 'from', 'normal requests', 'normal 2xx %', 'normal p99 ms', 'attacker requests', 'attacker answers', 'what it did'], phases.map((p) => [
      p.phase,
      p.from || '–',
      formatCount(p.normal.requests) + (p.normal.excused > 0 ? ` (${formatCount(p.normal.excused)} writes refused: store full)` : ''),
      formatNumber(p.normal.successPercent),
      formatMs(p.normal.p99Ms),
      formatCount(p.attacker.requests),
      statusSummary(p.attacker.byStatus),
      [p.attack, p.detail].filter(Boolean).join('; ')
    ])),
    p99Chart(file, phases, ABUSE_BOUNDS.normalP99Ms),
    text('Normal clients are counted by when their request was scheduled (the open model), so a stack the attacker slows shows as their latency.')
  ]
}

export function abuseSection (run: RunData): Section | null {
  const drills = run.drills.filter((d) => d.result.phases !== undefined && d.result.phases.length > 0)
  return resultsSection('abuse', 'Abuse: one client against the stack', drills, abuseBlocks, [
    'nginx holds one client at the edge: it drops half-sent headers after 5 s and refuses a client past its rate with a 429 before any instance is asked.',
    'Past the edge, the service bounds what one request may cost (JSON values per body, CPU work admitted at once) and Redis refuses writes past its maxmemory with a fast 503 instead of evicting what it acknowledged.'
  ])
}
