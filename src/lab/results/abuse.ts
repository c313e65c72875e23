/** The abuse drill's part of its result (reports/<run>/abuse.json): one row per attack, what the normal clients and the attacker saw. */
import { Type, type Static } from 'typebox'
import { Nullable, Slug } from './common.js'

export const AbusePhaseSchema = Type.Object({
  /** half-open, request-flood, write-flood, small-objects, cpu-route; `baseline` before any attack. */
  phase: Slug,
  /** What the attacker did, in a line. */
  attack: Type.String(),
  /** The attacker's source address(es). */
  from: Type.String(),
  /** The window judged, in seconds since the load started: the attack and a short aftermath. */
  startSeconds: Type.Number(),
  endSeconds: Type.Number(),
  /** The normal clients on 127.0.0.1 in that window (requests counted by when they were sent). */
  normal: Type.Object({
    requests: Type.Integer(),
    ok: Type.Integer(),
    /** Writes refused with 503 by a full Redis (the write flood's window only): not counted as failures. */
    excused: Type.Integer(),
    /** ok ÷ (requests − excused), in %. */
    successPercent: Type.Number(),
    p99Ms: Nullable(Type.Number()),
    maxMs: Nullable(Type.Number())
  }),
  /** The attacker's requests and their answers (status "0": none came); a half-open flood sends none. */
  attacker: Type.Object({
    requests: Type.Integer(),
    byStatus: Type.Record(Type.String(), Type.Integer()),
    p99Ms: Nullable(Type.Number())
  }),
  /** The attack's own figures (sockets held, memory, refusals), in a line. */
  detail: Type.String()
})
/** One attack of the abuse drill. */
export type AbusePhase = Static<typeof AbusePhaseSchema>
