// Every default of a SandboxStoragePolicy in one place; README's policy reference and a golden test follow it.
import type { PolicySpec } from './types.ts';

export const defaultLabels = {
  inject: 'sandbox-storage.io/inject',
  user: 'sandbox-storage.io/user',
  thread: 'sandbox-storage.io/thread',
} as const;

export function defaultPolicySpec(): PolicySpec {
  return {
    namespaceSelector: {},
    podSelector: { matchLabels: { [defaultLabels.inject]: 'true' } },
    identity: { userLabel: defaultLabels.user, threadLabel: defaultLabels.thread },
    container: '',
    mode: 'workspace',
    workspace: {
      scope: 'thread',
      mountPath: '/sandbox',
      claimNamePrefix: 'sandbox-',
      size: '2Gi',
      accessModes: ['ReadWriteOnce'],
      volumeMode: 'Filesystem',
    },
    shared: {
      claimName: '',
      mounts: [{ subPath: 'users/{user}/threads/{thread}/user-data', mountPath: '/sandbox', readOnly: false }],
    },
    provisioning: {
      schedulingGate: true,
      adoptExisting: false,
      pendingWarningSeconds: 120,
      shared: { createIfMissing: false, size: '10Gi', accessModes: ['ReadWriteMany'], volumeMode: 'Filesystem' },
    },
    retention: { whenUnused: 'Retain', gracePeriodSeconds: 3600, idleTTLSeconds: 0 },
    quota: { maxClaimsPerUser: 0, maxStoragePerUser: '' },
    seed: { enabled: true, path: '/sandbox', sentinel: '.sandbox-storage-seeded' },
  };
}
