// The seed init container's report (its termination message, src/seed/seed.sh's report_end): which of the user's
// files got the image's new version beside them, which type changes were not applied, what was moved aside. Read
// from the Pod's status and turned into the text of one Event. Pure: the Pod is data, the Event is recorded by the caller.
import type * as k8s from '@kubernetes/client-node';
import { seedContainerName } from '../admission/seed-container.ts';

const reportHeader = 'sandbox-storage-seed-report 1';
const kinds = ['beside', 'unplaced', 'retype', 'moved'] as const;
type Kind = (typeof kinds)[number];

export interface SeedReport {
  counts: Record<Kind, number>;
  /** The first paths of each kind, as the seeder listed them (it lists at most about 3 KB of them). */
  paths: Record<Kind, string[]>;
}

/** The seed container's termination message, once it has terminated with one. */
export function seedTerminationMessage(pod: k8s.V1Pod): string | undefined {
  const status = pod.status?.initContainerStatuses?.find((container) => container.name === seedContainerName);
  const message = status?.state?.terminated?.message ?? status?.lastState?.terminated?.message;
  return typeof message === 'string' && message.startsWith(reportHeader) ? message : undefined;
}

/** The report in a termination message, or undefined when it is none (anyone can write that file: no trust in it). */
export function parseSeedReport(message: string): SeedReport | undefined {
  const lines = message.split('\n');
  if (lines[0] !== reportHeader) return undefined;
  const counts = { beside: 0, unplaced: 0, retype: 0, moved: 0 } satisfies Record<Kind, number>;
  for (const field of (lines[1] ?? '').split(' ')) {
    const [key, value] = field.split('=');
    if ((kinds as readonly string[]).includes(key ?? '') && /^\d{1,9}$/.test(value ?? '')) counts[key as Kind] = Number(value);
  }
  const paths = { beside: [], unplaced: [], retype: [], moved: [] } as Record<Kind, string[]>;
  for (const line of lines.slice(2)) {
    const at = line.indexOf(': ');
    const kind = line.slice(0, at) as Kind;
    if (at > 0 && kinds.includes(kind)) paths[kind].push(line.slice(at + 2));
  }
  return kinds.some((kind) => counts[kind] > 0) ? { counts, paths } : undefined;
}

function listed(count: number, paths: string[], limit = 5): string {
  const shown = paths.slice(0, limit).map((path) => JSON.stringify(path)).join(', ');
  return count > Math.min(paths.length, limit) ? `${shown} and ${count - Math.min(paths.length, limit)} more` : shown;
}

/** One Event for the report: Normal when each of the user's files got the new version beside it, else Warning. */
export function seedReportEvent(report: SeedReport): { type: 'Normal' | 'Warning'; message: string } {
  const { counts, paths } = report;
  const parts: string[] = [];
  if (counts.beside > 0) {
    parts.push(`kept ${counts.beside} file(s) you changed that the image changed too; its new version is beside each as NAME.sandbox-storage-new: ${listed(counts.beside, paths.beside)}`);
  }
  if (counts.unplaced > 0) {
    parts.push(`kept ${counts.unplaced} file(s) you changed that the image changed too, but could not put its new version beside them (NAME.sandbox-storage-new is yours): ${listed(counts.unplaced, paths.unplaced)}`);
  }
  if (counts.retype > 0) {
    parts.push(`did not apply ${counts.retype} type change(s) of the image (file <-> directory), your changes are in the way: ${listed(counts.retype, paths.retype)}`);
  }
  if (counts.moved > 0) parts.push(`moved ${counts.moved} entr(ies) aside without overwriting anything: ${listed(counts.moved, paths.moved)}`);
  const type = counts.unplaced + counts.retype + counts.moved > 0 ? 'Warning' : 'Normal';
  return { type, message: `the seeder ${parts.join('; ')}` };
}
