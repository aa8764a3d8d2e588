// The run record of each plan item, kept by `migrate run` (one ConfigMap per plan) so that a rerun continues where
// an interrupted one stopped and `migrate status` can tell. The target's own record (written by the copy Pod
// after verification) is what makes an item done; this one follows it.
import type { PlanItem } from './plan.ts';

export type RecordState = 'copying' | 'done' | 'failed';

export interface RunRecord {
  state: RecordState;
  /** When it entered this state (RFC 3339). */
  at: string;
  files?: number;
  /** The verified manifest's SHA-256 (both sides equal). */
  hash?: string;
  error?: string;
}

/** pending (no record) → copying → done | failed; failed and an interrupted copying → copying again; done is final. */
const allowed: Record<RecordState | 'pending', readonly RecordState[]> = {
  pending: ['copying', 'done'],
  copying: ['copying', 'done', 'failed'],
  failed: ['copying', 'done'],
  done: [],
};

export function transition(current: RunRecord | undefined, next: RunRecord): RunRecord {
  const from = current?.state ?? 'pending';
  if (!allowed[from].includes(next.state)) throw new Error(`a migration record cannot go from ${from} to ${next.state}`);
  return next;
}

export type ItemAction = 'conflict' | 'skip' | 'copy';

/** What a run does with an item: a conflict is never copied, a done one is skipped, everything else is (re)copied. */
export function itemAction(item: PlanItem, record: RunRecord | undefined): ItemAction {
  if (item.conflicts.length > 0 || !item.target) return 'conflict';
  if (record?.state === 'done') return 'skip';
  return 'copy';
}

export function parseRecord(value: string | undefined): RunRecord | undefined {
  if (value === undefined) return undefined;
  try {
    const parsed = JSON.parse(value) as Partial<RunRecord>;
    if (parsed.state === 'copying' || parsed.state === 'done' || parsed.state === 'failed') return { ...parsed, state: parsed.state, at: String(parsed.at ?? '') };
  } catch {
    // unreadable: as if absent, so the item is copied again (the copy is idempotent)
  }
  return undefined;
}

export interface StatusSummary {
  total: number;
  done: number;
  failed: number;
  copying: number;
  pending: number;
  conflicts: number;
}

export function summarize(items: readonly PlanItem[], records: ReadonlyMap<string, RunRecord>): StatusSummary {
  const summary: StatusSummary = { total: items.length, done: 0, failed: 0, copying: 0, pending: 0, conflicts: 0 };
  for (const item of items) {
    const record = records.get(item.key);
    if (itemAction(item, record) === 'conflict') summary.conflicts++;
    else if (record) summary[record.state]++;
    else summary.pending++;
  }
  return summary;
}
