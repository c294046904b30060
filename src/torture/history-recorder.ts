import type { HistoryOp, OpInput, OpKind } from '../check/index.js';
import type { OpAnswer } from './kv-http.js';

/**
 * A history record: the checker's fields (docs/checker.md) plus, for people reading the file, the node asked,
 * the revision of a write, and why an outcome is unknown. The checker ignores the extra fields.
 */
export interface RecordedOp extends HistoryOp {
  readonly node: string;
  /** Why the outcome is unknown or the operation failed (an error code). */
  readonly note?: string;
  /** The error message the node gave, if any. */
  readonly message?: string;
  /** `lease` for a read made with `consistency=lease` (absent: linearizable, the default). */
  readonly consistency?: 'lease';
  /** The store revision the write got (puts, deletes that deleted), or the read was served at. */
  readonly revision?: number;
}

export interface OpCounts {
  ok: number;
  /** Surely not applied (UNAVAILABLE, refused connections). */
  failed: number;
  /** Outcome unknown (timeouts, lost connections). */
  unknown: number;
}

/** The most unexpected answers kept for the report (the count goes on). */
const MAX_ANOMALIES = 100;

/** Collects every operation of the run, in the order they completed, with counts by outcome and kind. */
export class HistoryRecorder {
  readonly ops: RecordedOp[] = [];
  readonly counts: Record<OpKind, OpCounts> = {
    get: { ok: 0, failed: 0, unknown: 0 },
    put: { ok: 0, failed: 0, unknown: 0 },
    delete: { ok: 0, failed: 0, unknown: 0 },
  };
  readonly anomalies: string[] = [];
  anomalyCount = 0;

  record(
    id: string,
    clientId: string,
    node: string,
    key: string,
    op: OpKind,
    input: OpInput,
    call: number,
    returned: number,
    answer: OpAnswer,
    leaseRead = false,
  ): void {
    const base = { id, clientId, node, key, op, input, call, ...(leaseRead ? { consistency: 'lease' as const } : {}) };
    const counts = this.counts[op];
    switch (answer.kind) {
      case 'ok':
        counts.ok++;
        this.ops.push({
          ...base,
          return: returned,
          output: answer.output,
          ...(answer.revision !== undefined && Number.isFinite(answer.revision) ? { revision: answer.revision } : {}),
        });
        return;
      case 'failed':
        counts.failed++;
        // Surely not applied: kept for the record; the checker drops it.
        this.ops.push({
          ...base,
          return: returned,
          output: { ok: false, code: 'UNAVAILABLE' },
          note: answer.code,
          ...(answer.message ? { message: answer.message } : {}),
        });
        return;
      case 'unknown':
        counts.unknown++;
        if (answer.anomaly !== undefined) {
          this.anomalyCount++;
          if (this.anomalies.length < MAX_ANOMALIES)
            this.anomalies.push(`${id} ${op} ${key} on ${node}: ${answer.anomaly}`);
        }
        this.ops.push({
          ...base,
          return: null,
          output: null,
          note: answer.reason,
          ...(answer.message ? { message: answer.message } : {}),
        });
        return;
    }
  }

  get total(): number {
    return this.ops.length;
  }

  totals(): OpCounts {
    const t: OpCounts = { ok: 0, failed: 0, unknown: 0 };
    for (const c of Object.values(this.counts)) {
      t.ok += c.ok;
      t.failed += c.failed;
      t.unknown += c.unknown;
    }
    return t;
  }

  /** JSON lines, one operation each (the checker's `history.jsonl`). */
  toJsonLines(): string {
    let out = '';
    for (const op of this.ops) out += `${JSON.stringify(op)}\n`;
    return out;
  }
}
