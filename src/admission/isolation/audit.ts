// `sandbox-storage audit`, the pure part: the same isolation rules as the webhooks, applied to what a cluster holds
// now (Pods admitted before the webhook was installed or while it failed open, PVCs planted in the product's names).
import type { Policy } from '../../policy/types.ts';
import { classifyClaim, type ObservedClaimMetadata } from './governed-volumes.ts';
import { isObject } from '../../plain-json.ts';
import { governingPolicies, validatePod } from './validate-pod.ts';
import { ownershipLabels, ownershipProofAnnotation } from '../../labels.ts';

export interface AuditedNamespace {
  name: string;
  labels: Record<string, string>;
}

export interface AuditedClaim extends ObservedClaimMetadata {
  namespace: string;
  name: string;
}

export interface AuditInput {
  policies: readonly Policy[];
  namespaces: readonly AuditedNamespace[];
  /** Pods as the API server returns them. */
  pods: readonly unknown[];
  claims: readonly AuditedClaim[];
  /** Without it no PVC can be proven, and every existing workspace PVC is reported. */
  ownershipKey?: Uint8Array;
}

export interface AuditFinding {
  kind: 'Pod' | 'PersistentVolumeClaim';
  namespace: string;
  name: string;
  /** The rule broken, as the webhooks name it (e.g. UnprovenClaim). */
  rule: string;
  message: string;
}

/**
 * Who created a Pod is not recorded on it, so the requester rules (binding, exemptions) cannot be judged after the
 * fact: every Pod is judged as if a requester bound to its identity and exempt from nothing had created it.
 */
const requesterRules = new Set(['RequesterBinding', 'StorageOwnerBinding']);
const auditor = { username: 'system:sandbox-storage:audit', groups: [] };
const ownershipKeys = [ownershipLabels.managedBy, ownershipLabels.identityHash, ownershipLabels.policy];

function metadataOf(object: unknown): Record<string, unknown> {
  return isObject(object) && isObject(object.metadata) ? object.metadata : {};
}

function isFinished(pod: unknown): boolean {
  const status = isObject(pod) && isObject(pod.status) ? pod.status : {};
  return status.phase === 'Succeeded' || status.phase === 'Failed';
}

function ruleOf(denial: string): string {
  return /\[rule (\w+)/.exec(denial)?.[1] ?? 'InvalidIdentity';
}

export function auditCluster(input: AuditInput): AuditFinding[] {
  const findings: AuditFinding[] = [];
  const governingByNamespace = new Map(input.namespaces.map((namespace) => [namespace.name, governingPolicies(input.policies, namespace.labels)]));
  const labelsByNamespace = new Map(input.namespaces.map((namespace) => [namespace.name, namespace.labels]));
  const claimsByNamespace = new Map<string, Record<string, ObservedClaimMetadata>>();
  for (const claim of input.claims) {
    const known = claimsByNamespace.get(claim.namespace) ?? {};
    known[claim.name] = { labels: claim.labels, annotations: claim.annotations };
    claimsByNamespace.set(claim.namespace, known);
  }

  for (const pod of input.pods) {
    const metadata = metadataOf(pod);
    const namespace = typeof metadata.namespace === 'string' ? metadata.namespace : '';
    const name = typeof metadata.name === 'string' ? metadata.name : '';
    if ((governingByNamespace.get(namespace) ?? []).length === 0 || isFinished(pod) || metadata.deletionTimestamp) continue;
    const validation = validatePod(
      {
        operation: 'CREATE',
        subResource: '',
        object: pod,
        namespace,
        namespaceLabels: labelsByNamespace.get(namespace),
        userInfo: auditor,
        claimMetadata: claimsByNamespace.get(namespace) ?? {},
        ...(input.ownershipKey ? { ownershipKey: input.ownershipKey } : {}),
      },
      input.policies,
    );
    for (const denial of validation.denials) {
      const rule = ruleOf(denial);
      if (!requesterRules.has(rule)) findings.push({ kind: 'Pod', namespace, name, rule, message: denial });
    }
  }

  for (const claim of input.claims) {
    const governing = governingByNamespace.get(claim.namespace) ?? [];
    if (governing.length === 0) continue;
    const facts = {
      namespace: claim.namespace,
      claimMetadata: { [claim.name]: claim },
      ...(input.ownershipKey ? { ownershipKey: input.ownershipKey } : {}),
    };
    const classified = classifyClaim(claim.name, governing, facts);
    const owners = classified?.owners.map((policy) => `"${policy.name}"`).join(', ');
    if (classified?.kind === 'unproven') {
      findings.push({
        kind: 'PersistentVolumeClaim',
        namespace: claim.namespace,
        name: claim.name,
        rule: 'UnprovenClaim',
        message: `PVC ${claim.name} is in the workspace names of policy ${owners} but carries no valid ownership proof: sandboxes never mount it, and its identity is locked out until it is removed or vouched for`,
      });
    } else if (!classified) {
      const forged: string[] = ownershipKeys.filter((key) => Object.hasOwn(claim.labels, key));
      if (Object.hasOwn(claim.annotations, ownershipProofAnnotation)) forged.push(ownershipProofAnnotation);
      if (forged.length > 0) {
        findings.push({
          kind: 'PersistentVolumeClaim',
          namespace: claim.namespace,
          name: claim.name,
          rule: 'ForgedOwnership',
          message: `PVC ${claim.name} carries ${forged.join(', ')} but is not storage of any policy: it was not created by sandbox-storage`,
        });
      }
    }
  }
  return findings.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name) || a.rule.localeCompare(b.rule));
}
