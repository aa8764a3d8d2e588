// Where an identity's data goes under the target policy: asked of planStorage, the same code the mutating webhook
// runs for a sandbox Pod of that identity, so migrated data lands exactly where the first such Pod mounts it.
import type { V1Pod } from '@kubernetes/client-node';
import { planStorage } from '../admission/plan-storage.ts';
import type { Policy } from '../policy/types.ts';

export interface TargetLocation {
  claim: string;
  /** Relative to the claim's root; '' is the root (a workspace PVC). */
  path: string;
}

/** The mount paths the target policy gives a sandbox, and the one data goes to unless `--target-mount` says. */
export function targetMounts(policy: Policy): { all: string[]; primary: string } {
  const { spec } = policy;
  if (spec.mode === 'workspace') return { all: [spec.workspace.mountPath], primary: spec.workspace.mountPath };
  const writable = spec.shared.mounts.find((mount) => !mount.readOnly) ?? spec.shared.mounts[0];
  return { all: spec.shared.mounts.map((mount) => mount.mountPath), primary: writable?.mountPath ?? '' };
}

/** A minimal sandbox Pod of the identity, as a spawner would create it. */
function sandboxPodOf(policy: Policy, ids: { user: string; thread?: string }): V1Pod {
  const { identity } = policy.spec;
  const labels: Record<string, string> = { [identity.userLabel]: ids.user };
  if (ids.thread !== undefined) labels[identity.threadLabel] = ids.thread;
  return { metadata: { labels }, spec: { containers: [{ name: policy.spec.container || 'sandbox' }] } };
}

export function targetFor(
  policy: Policy,
  namespace: string,
  mountPath: string,
  ids: { user: string; thread?: string },
): { target?: TargetLocation; problems: string[] } {
  const plan = planStorage(sandboxPodOf(policy, ids), policy, namespace);
  if (plan.denials.length > 0) return { problems: plan.denials };
  const mount = plan.mounts.find((candidate) => candidate.mountPath === mountPath);
  const claim = plan.layout?.volume.persistentVolumeClaim?.claimName;
  if (!mount || !claim) return { problems: [`policy ${policy.name} mounts nothing at ${mountPath}`] };
  return { target: { claim, path: mount.subPath ?? '' }, problems: [] };
}
