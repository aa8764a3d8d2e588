// `sandbox-storage audit`: lists everything in a live cluster that breaks tenant isolation now, by the webhooks' own
// rules. Read-only.
import { parseArgs } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { auditCluster, type AuditFinding } from '../admission/isolation/audit.ts';
import { apiErrorMessage } from '../kube/api-errors.ts';
import { listClusterPolicies } from '../kube/cluster-policies.ts';
import { readClusterSnapshot } from '../kube/cluster-snapshot.ts';
import { loadKubeConfig } from '../kube/kube-config.ts';
import { defaultOwnershipKeySecret, readOwnershipKey } from '../kube/ownership-key.ts';
import { formatTable } from './policies.ts';
import { UsageError } from './usage-error.ts';

export const auditUsage = `Usage: sandbox-storage audit [--kubeconfig FILE] [--ownership-key-secret NAMESPACE/NAME] [--output table|json]

Scans the cluster (read-only) with the same rules as the webhooks and lists what breaks tenant isolation now:
Pods admitted before the webhook was installed or while it was unavailable, ephemeral containers already in Pods,
PVCs in a policy's workspace names without a valid ownership proof, PVCs carrying the product's ownership labels
that are not its storage. Who created a Pod is not recorded on it: requester binding and exemptions are not judged.

Options:
  --kubeconfig FILE                         credentials (default: in-cluster, $KUBECONFIG, ~/.kube/config)
  --ownership-key-secret NAMESPACE/NAME     the Secret holding the ownership key
                                            (default: sandbox-storage-system/${defaultOwnershipKeySecret})
  --output table|json                       kubectl-style table (default) or JSON for scripts

Exit status: 0 nothing found, 1 findings, 2 bad usage or the cluster could not be read.
`;

function parseSecretRef(value: string): { namespace: string; name: string } {
  const [namespace = '', name = '', ...rest] = value.split('/');
  if (namespace === '' || name === '' || rest.length > 0) throw new UsageError(`--ownership-key-secret expects NAMESPACE/NAME, got ${JSON.stringify(value)}`);
  return { namespace, name };
}

/** The key, or undefined with a warning when the Secret cannot be read: then every existing workspace PVC is listed. */
async function readKey(config: k8s.KubeConfig, ref: { namespace: string; name: string }, warn: (text: string) => void): Promise<Uint8Array | undefined> {
  try {
    const { key, problem } = await readOwnershipKey(config, ref);
    if (key) return key;
    warn(`warning: Secret ${ref.namespace}/${ref.name} is unusable (${problem}): no PVC can be proven\n`);
  } catch (error) {
    warn(`warning: cannot read the ownership key Secret ${ref.namespace}/${ref.name} (${apiErrorMessage(error)}): no PVC can be proven\n`);
  }
  return undefined;
}

export function formatFindings(findings: readonly AuditFinding[]): string {
  if (findings.length === 0) return 'No isolation problems found.\n';
  const rows = [['NAMESPACE', 'KIND', 'NAME', 'RULE', 'MESSAGE'], ...findings.map((finding) => [finding.namespace, finding.kind, finding.name, finding.rule, finding.message])];
  return `${formatTable(rows)}\n`;
}

export async function runAudit(args: string[], write: (text: string) => void, writeError: (text: string) => void): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      kubeconfig: { type: 'string' },
      'ownership-key-secret': { type: 'string', default: `sandbox-storage-system/${defaultOwnershipKeySecret}` },
      output: { type: 'string', default: 'table' },
    },
    strict: true,
  });
  if (values.output !== 'table' && values.output !== 'json') throw new UsageError(`--output must be table or json, got ${values.output}`);
  const secretRef = parseSecretRef(values['ownership-key-secret']);
  const config = loadKubeConfig(values.kubeconfig);
  let installed;
  let snapshot;
  try {
    [installed, snapshot] = await Promise.all([listClusterPolicies(config), readClusterSnapshot(config)]);
  } catch (error) {
    throw new UsageError(`cannot read the cluster: ${(error as Error).message}`);
  }
  for (const entry of installed) {
    if (entry.error) writeError(`warning: policy ${entry.name} is invalid and not audited:\n${entry.error}\n`);
  }
  const ownershipKey = await readKey(config, secretRef, writeError);
  const findings = auditCluster({
    policies: installed.flatMap((entry) => (entry.policy ? [entry.policy] : [])),
    ...snapshot,
    ...(ownershipKey ? { ownershipKey } : {}),
  });
  write(values.output === 'json' ? `${JSON.stringify({ findings }, null, 2)}\n` : formatFindings(findings));
  return findings.length > 0 ? 1 : 0;
}
