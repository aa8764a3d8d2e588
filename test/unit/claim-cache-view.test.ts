// The PVC cache keeps every field but managedFields: adoption rewrites labels and annotations from the cached copy,
// so nothing may be lost, and the shared texts must not change a value.
import type * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { claimCacheView, withoutManagedFields } from '../../src/kube/informers.ts';
import { SharedStrings } from '../../src/kube/shared-strings.ts';

const claim = (name: string): k8s.V1PersistentVolumeClaim => ({
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: {
    name,
    namespace: 'team-a',
    uid: `uid-${name}`,
    resourceVersion: '42',
    creationTimestamp: new Date('2026-12-01T10:00:00Z'),
    labels: { 'app.kubernetes.io/managed-by': 'sandbox-storage-webhook', 'sandbox-storage.io/user': 'alice' },
    annotations: { 'sandbox-storage.io/ownership-proof': 'v1:abc', 'kubectl.kubernetes.io/last-applied-configuration': '{"x":1}' },
    finalizers: ['kubernetes.io/pvc-protection'],
    managedFields: [{ manager: 'kube-controller-manager', operation: 'Update' }],
  },
  spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '2Gi' } }, volumeMode: 'Filesystem' },
  status: { phase: 'Pending' },
});

describe('claimCacheView', () => {
  it('is the PVC without managedFields, every other field unchanged', () => {
    const view = claimCacheView(new SharedStrings());
    for (const name of ['a', 'b', 'a']) {
      const cached = view(claim(name));
      expect(cached).toEqual(withoutManagedFields(claim(name)));
      expect(cached.metadata?.managedFields).toBeUndefined();
      expect(cached.metadata?.annotations).toEqual(claim(name).metadata?.annotations);
      expect(cached.metadata?.creationTimestamp).toEqual(new Date('2026-12-01T10:00:00Z'));
    }
  });

  it('does not add fields a PVC does not have', () => {
    const bare = claimCacheView(new SharedStrings())({ metadata: { name: 'x', namespace: 'n' } });
    expect(bare).toStrictEqual({ metadata: { name: 'x', namespace: 'n' } });
  });
});
