// Applies deploy/manifests/rbac.yaml into a test namespace and mints a kubeconfig for its ServiceAccount, so a
// process runs with exactly the shipped permissions instead of the admin's.
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import type { ControlPlane } from './controlplane.ts';

const rbacManifest = new URL('../../deploy/manifests/rbac.yaml', import.meta.url);
const shippedNamespace = 'sandbox-storage-system';

/** The shipped RBAC documents with the namespace `sandbox-storage-system` replaced by `namespace`. */
export function shippedRbac(namespace: string): Array<Record<string, any>> {
  return parseAllDocuments(readFileSync(rbacManifest, 'utf8')).map((document) => {
    const object = document.toJS() as Record<string, any>;
    if (object.metadata?.namespace === shippedNamespace) object.metadata.namespace = namespace;
    for (const subject of object.subjects ?? []) if (subject.namespace === shippedNamespace) subject.namespace = namespace;
    return object;
  });
}

export async function serviceAccountKubeconfig(controlPlane: ControlPlane, namespace: string): Promise<string> {
  const objects = shippedRbac(namespace);
  const applied = await controlPlane.kubectl(['apply', '-f', '-'], { input: objects.map((object) => JSON.stringify(object)).join('\n') });
  if (applied.code !== 0) throw new Error(`kubectl apply of the shipped RBAC failed: ${applied.stderr}`);
  const account = objects.find((object) => object.kind === 'ServiceAccount')?.metadata?.name as string;
  const core = controlPlane.kubeConfig.makeApiClient(k8s.CoreV1Api);
  const token = await core.createNamespacedServiceAccountToken({
    name: account,
    namespace,
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const path = join(controlPlane.dir, `${account}.kubeconfig`);
  await writeFile(
    path,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'test', cluster: { server: controlPlane.serverUrl, 'certificate-authority-data': Buffer.from(controlPlane.caCertificatePem).toString('base64') } }],
      users: [{ name: account, user: { token: token.status?.token } }],
      contexts: [{ name: 'test', context: { cluster: 'test', user: account } }],
      'current-context': 'test',
    }),
    { mode: 0o600 },
  );
  return path;
}
