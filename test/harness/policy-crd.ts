// The SandboxStoragePolicy CRD, installed in a test control plane and Established, for tests that read policies
// from the cluster.
import { crdPath } from '../../scripts/policy-artifacts.ts';
import { policyGroup, policyNames } from '../../src/policy/schema.ts';
import type { ControlPlane } from './controlplane.ts';

const root = new URL('../..', import.meta.url).pathname;

export async function installPolicyCrd(controlPlane: ControlPlane): Promise<void> {
  const applied = await controlPlane.kubectl(['apply', '--server-side', '-f', `${root}${crdPath}`]);
  if (applied.code !== 0) throw new Error(`applying the policy CRD failed: ${applied.stderr}`);
  const established = await controlPlane.kubectl(['wait', '--for=condition=Established', `crd/${policyNames.plural}.${policyGroup}`, '--timeout=60s']);
  if (established.code !== 0) throw new Error(`the policy CRD did not become Established: ${established.stderr}`);
}
