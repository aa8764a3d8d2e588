// The SandboxStoragePolicy API (sandbox-storage.io/v1alpha1). The spec types are generated from the schema
// (src/policy/schema.ts → generated-types.ts); these are the names the rest of the code uses.
import type { PolicySpec } from './generated-types.ts';
import type { MigrationHold } from './migration-hold.ts';

export type { LabelSelector, LabelSelectorRequirement, PolicySpec, PolicyStatus, PolicyCondition, SharedMount } from './generated-types.ts';

export const policyApiVersion = 'sandbox-storage.io/v1alpha1';
export const policyKind = 'SandboxStoragePolicy';

export type StorageMode = PolicySpec['mode'];
export type AccessMode = PolicySpec['workspace']['accessModes'][number];
export type VolumeMode = PolicySpec['workspace']['volumeMode'];
export type RetentionSpec = PolicySpec['retention'];

export interface Policy {
  name: string;
  spec: PolicySpec;
  /** Migrations copying into this policy (annotations of a cluster policy); their identities' Pods stay gated. */
  holds?: readonly MigrationHold[];
}
