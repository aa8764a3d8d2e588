// Where namespace labels come from, for policies with a namespaceSelector. Implementations: a cluster lookup
// (src/kube/namespace-labels.ts) or labels given up front (review, servers without such policies).

export type NamespaceLabelLookup = (namespace: string) => Promise<Record<string, string> | undefined>;

export function staticNamespaceLabels(labels: Record<string, string> | undefined): NamespaceLabelLookup {
  return async () => labels;
}
