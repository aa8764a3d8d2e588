// The policy used when none is given: every default, workspace mode. Documented in the README.
import { parsePolicies } from './load.ts';
import type { Policy } from './types.ts';

export const embeddedDefaultPolicyYaml = `apiVersion: sandbox-storage.io/v1alpha1
kind: SandboxStoragePolicy
metadata:
  name: default
spec:
  mode: workspace
`;

export function embeddedDefaultPolicies(): Policy[] {
  return parsePolicies(embeddedDefaultPolicyYaml, 'embedded default policy');
}
