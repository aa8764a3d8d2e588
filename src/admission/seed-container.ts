// The init container that copies the image's original /sandbox into the volume on first use.
import type { V1Container, V1EnvVar, V1PodSecurityContext, V1VolumeMount } from '@kubernetes/client-node';
import type { Policy } from '../policy/types.ts';
import { seedStagingPath } from '../policy/validate.ts';
import { seedEnvironment, seedScript } from './seed-script.ts';

export const seedContainerName = 'sandbox-storage-seed';

export function buildSeedContainer(
  policy: Policy,
  sandbox: V1Container,
  podSecurityContext: V1PodSecurityContext | undefined,
  seededMount: V1VolumeMount,
): V1Container {
  // Same image and the same identity as the sandbox, so what it copies belongs to the sandbox user, not root.
  const runAsUser = sandbox.securityContext?.runAsUser ?? podSecurityContext?.runAsUser;
  const runAsGroup = sandbox.securityContext?.runAsGroup ?? podSecurityContext?.runAsGroup ?? podSecurityContext?.fsGroup;
  const env: V1EnvVar[] = [
    { name: seedEnvironment.source, value: policy.spec.seed.path },
    { name: seedEnvironment.target, value: seedStagingPath },
    { name: seedEnvironment.sentinel, value: policy.spec.seed.sentinel },
    { name: seedEnvironment.image, value: sandbox.image ?? '' },
  ];
  if (runAsUser !== undefined) env.push({ name: seedEnvironment.uid, value: String(runAsUser) });
  if (runAsGroup !== undefined) env.push({ name: seedEnvironment.gid, value: String(runAsGroup) });

  const stagingMount: V1VolumeMount = { name: seededMount.name, mountPath: seedStagingPath };
  if (seededMount.subPath !== undefined) stagingMount.subPath = seededMount.subPath;

  const container: V1Container = {
    name: seedContainerName,
    image: sandbox.image,
    command: ['/bin/sh', '-c', seedScript],
    env,
    volumeMounts: [stagingMount],
  };
  if (sandbox.imagePullPolicy !== undefined) container.imagePullPolicy = sandbox.imagePullPolicy;
  if (sandbox.securityContext !== undefined) container.securityContext = structuredClone(sandbox.securityContext);
  // Copying the sandbox's resources never raises the Pod's effective request and satisfies quotas that demand limits.
  if (sandbox.resources !== undefined) container.resources = structuredClone(sandbox.resources);
  return container;
}
