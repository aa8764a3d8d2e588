// `sandbox-storage policies`: the SandboxStoragePolicies of a cluster, in the order they take precedence.
import { parseArgs } from 'node:util';
import { comparePolicies } from '../policy/select-policy.ts';
import { listClusterPolicies, type InstalledPolicy } from '../kube/cluster-policies.ts';
import { loadKubeConfig } from '../kube/kube-config.ts';
import { UsageError } from './usage-error.ts';

export const policiesUsage = `Usage: sandbox-storage policies [--kubeconfig FILE] [--output table|json]

Lists the SandboxStoragePolicies installed in the cluster, most specific first (the order in which they win
when several select a Pod), with their status.
`;

function storageOf(entry: InstalledPolicy): string {
  const spec = entry.policy?.spec;
  if (!spec) return '-';
  if (spec.mode === 'shared') return `pvc/${spec.shared.claimName}`;
  return `${spec.workspace.scope}/${spec.workspace.size}/${spec.workspace.storageClassName ?? '(default class)'}`;
}

function readyOf(entry: InstalledPolicy): [string, string] {
  if (entry.error) return ['False', 'InvalidSpec'];
  const ready = entry.object.status?.conditions?.find((condition) => condition.type === 'Ready');
  return ready ? [ready.status, ready.reason] : ['Unknown', '-'];
}

export function formatTable(rows: string[][]): string {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('   ').trimEnd()).join('\n');
}

export async function runPolicies(args: string[], write: (text: string) => void): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { kubeconfig: { type: 'string' }, output: { type: 'string', default: 'table' } },
    strict: true,
  });
  if (values.output !== 'table' && values.output !== 'json') throw new UsageError(`--output must be table or json, got ${values.output}`);
  let installed: InstalledPolicy[];
  try {
    installed = await listClusterPolicies(loadKubeConfig(values.kubeconfig));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  installed.sort((a, b) => (a.policy && b.policy ? comparePolicies(a.policy, b.policy) : a.policy ? -1 : b.policy ? 1 : a.name.localeCompare(b.name)));
  if (values.output === 'json') {
    write(`${JSON.stringify(installed.map((entry) => ({ name: entry.name, spec: entry.policy?.spec, status: entry.object.status, error: entry.error })), null, 2)}\n`);
    return 0;
  }
  const rows = [['NAME', 'MODE', 'ENFORCEMENT', 'STORAGE', 'READY', 'REASON']];
  for (const entry of installed) {
    rows.push([entry.name, entry.policy?.spec.mode ?? '-', entry.policy?.spec.enforcement ?? '-', storageOf(entry), ...readyOf(entry)]);
  }
  write(installed.length === 0 ? 'No SandboxStoragePolicies found.\n' : `${formatTable(rows)}\n`);
  return 0;
}
