// One read of what the audit judges: every namespace, Pod and PVC of the cluster, listed in pages.
import * as k8s from '@kubernetes/client-node';
import type { AuditedClaim, AuditedNamespace } from '../admission/isolation/audit.ts';

export interface ClusterSnapshot {
  namespaces: AuditedNamespace[];
  pods: k8s.V1Pod[];
  claims: AuditedClaim[];
}

interface Page<T> {
  items: T[];
  metadata?: { _continue?: string };
}

async function listAll<T>(listPage: (next: string | undefined) => Promise<Page<T>>): Promise<T[]> {
  const items: T[] = [];
  let next: string | undefined;
  do {
    const page = await listPage(next);
    items.push(...page.items);
    next = page.metadata?._continue || undefined;
  } while (next);
  return items;
}

const limit = 500;

export async function readClusterSnapshot(config: k8s.KubeConfig): Promise<ClusterSnapshot> {
  const core = config.makeApiClient(k8s.CoreV1Api);
  const page = (next: string | undefined) => ({ limit, ...(next ? { _continue: next } : {}) });
  const [namespaces, pods, claims] = await Promise.all([
    listAll((next) => core.listNamespace(page(next))),
    listAll((next) => core.listPodForAllNamespaces(page(next))),
    listAll((next) => core.listPersistentVolumeClaimForAllNamespaces(page(next))),
  ]);
  return {
    namespaces: namespaces.map((namespace) => ({ name: namespace.metadata?.name ?? '', labels: namespace.metadata?.labels ?? {} })),
    pods,
    claims: claims.map((claim) => ({
      namespace: claim.metadata?.namespace ?? '',
      name: claim.metadata?.name ?? '',
      labels: claim.metadata?.labels ?? {},
      annotations: claim.metadata?.annotations ?? {},
    })),
  };
}
