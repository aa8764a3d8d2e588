// The migration Pods' shell scripts (src/migrate/copy.sh and inventory.sh, linted by shellcheck) and what their output means.
// Parsing is strict: a line that is not exactly one of the script's own is ignored, never half-read.
import { readFileSync } from 'node:fs';
import { minifyShellScript } from '../admission/shell-minify.ts';
import type { SourceEntry, TargetState } from './plan.ts';

export const copyScriptSource = readFileSync(new URL('./copy.sh', import.meta.url), 'utf8');
export const inventoryScriptSource = readFileSync(new URL('./inventory.sh', import.meta.url), 'utf8');
export const copyScript = minifyShellScript(copyScriptSource);
export const inventoryScript = minifyShellScript(inventoryScriptSource);

/** The file name of the record the copy writes in each target directory. */
export const migrationRecordName = '.sandbox-storage-migrated';

export const copyEnvironment = {
  sourceRoot: 'MIGRATE_SOURCE_ROOT',
  sourcePath: 'MIGRATE_SOURCE_PATH',
  targetRoot: 'MIGRATE_TARGET_ROOT',
  targetPath: 'MIGRATE_TARGET_PATH',
  plan: 'MIGRATE_PLAN',
  key: 'MIGRATE_KEY',
  record: 'MIGRATE_RECORD',
  resultFile: 'MIGRATE_RESULT_FILE',
} as const;

export type CopyResult =
  | { result: 'copied' | 'done'; entries: number; sha256: string }
  | { result: 'failed'; message: string };

/** The copy's result line (from the termination log); undefined when there is none or it is not the script's. */
export function parseCopyResult(text: string | undefined): CopyResult | undefined {
  const line = (text ?? '').trim().split('\n').at(-1) ?? '';
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if ((parsed.result === 'copied' || parsed.result === 'done') && Number.isInteger(parsed.entries) && typeof parsed.sha256 === 'string' && /^[0-9a-f]{64}$/.test(parsed.sha256)) {
    return { result: parsed.result, entries: parsed.entries as number, sha256: parsed.sha256 };
  }
  if (parsed.result === 'failed' && typeof parsed.message === 'string') return { result: 'failed', message: parsed.message };
  return undefined;
}

/** The inventory's lines; `complete` only when its end line came (a log cut short is not a listing). */
export function parseInventory(log: string, claim: string): { entries: SourceEntry[]; targets: Map<string, TargetState>; complete: boolean } {
  const entries: SourceEntry[] = [];
  const targets = new Map<string, TargetState>();
  let complete = false;
  for (const line of log.split('\n')) {
    if (!line.startsWith('@@migrate\t')) continue;
    const [, kind, first = '', second = '', ...rest] = line.split('\t');
    const path = rest.join('\t');
    if (kind === 'end') complete = true;
    else if (kind === 'dir' && /^\d+$/.test(first) && /^\d+$/.test(second) && path !== '') {
      entries.push({ claim, path: path === '.' ? '' : path, files: Number(first), kib: Number(second) });
    } else if (kind === 'target' && path !== '') {
      const state = targetState(first, second);
      if (state) targets.set(path === '.' ? '' : path, state);
    }
  }
  return { entries, targets, complete };
}

function targetState(state: string, detail: string): TargetState | undefined {
  if (state === 'absent') return { state: 'absent' };
  if (state === 'empty') return { state: 'empty' };
  if (state === 'notEmpty' && /^\d+$/.test(detail)) return { state: 'notEmpty', entries: Number(detail) };
  if (state === 'migrated') return { state: 'migrated', plan: detail };
  if (state === 'blocked') return { state: 'blocked', reason: detail };
  return undefined;
}
