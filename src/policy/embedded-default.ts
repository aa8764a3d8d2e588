// The policy used when none is given: every default, workspace mode. Documented in the README.
import { loadPolicyFiles, parsePolicies } from './load.ts';
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

/** The policies in `files`, or the embedded default when no file is given. */
export async function loadPoliciesOrDefault(files: string[]): Promise<Policy[]> {
  return files.length === 0 ? embeddedDefaultPolicies() : loadPolicyFiles(files);
}
