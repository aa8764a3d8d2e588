// The Pods of `sandbox-storage migrate`: one script, run once (no retries: a rerun of the command decides), in the
// data's namespace, with claims mounted where the script expects them. Bare Pods, not Jobs: the validating webhook
// judges a Pod by who creates it, and a Pod that mounts a shared claim's root must come from an exempt requester
// (the operator running migrate), not from the Job controller, whose exemption would cover every Job.
import * as k8s from '@kubernetes/client-node';
import { setTimeout as delay } from 'node:timers/promises';
import { isConflict, isNotFound } from './api-errors.ts';
import { managedByValue, migrationPlanLabel, ownershipLabels } from '../labels.ts';

export interface PodMount {
  claim: string;
  mountPath: string;
  readOnly: boolean;
}

export interface ScriptPod {
  namespace: string;
  name: string;
  planId: string;
  image: string;
  script: string;
  env: Record<string, string>;
  mounts: PodMount[];
  /** The Pod fails after this long; the run reports it and a rerun starts it again. */
  deadlineSeconds: number;
}

export interface PodOutcome {
  succeeded: boolean;
  /** The container's termination message (its result line), if it wrote one. */
  message?: string;
  log: string;
  /** Why the Pod did not finish normally (deadline, a container that never started), if known. */
  reason?: string;
}

/**
 * Runs as root so that every file can be read and its owner kept, with only the capabilities that needs (the ones
 * the root seeder holds too) and no privilege escalation.
 */
export function scriptPodBody(job: ScriptPod): k8s.V1Pod {
  const labels = { [ownershipLabels.managedBy]: managedByValue, [migrationPlanLabel]: job.planId };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: job.name, namespace: job.namespace, labels },
    spec: {
      restartPolicy: 'Never',
      activeDeadlineSeconds: job.deadlineSeconds,
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      terminationGracePeriodSeconds: 5,
      securityContext: { seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: 'migrate',
          image: job.image,
          imagePullPolicy: 'IfNotPresent',
          command: ['/bin/sh', '-c', job.script],
          env: Object.entries(job.env).map(([name, value]) => ({ name, value })),
          terminationMessagePolicy: 'File',
          securityContext: {
            runAsUser: 0,
            runAsGroup: 0,
            allowPrivilegeEscalation: false,
            capabilities: { drop: ['ALL'], add: ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID'] },
          },
          volumeMounts: job.mounts.map((mount, index) => ({ name: `claim-${index}`, mountPath: mount.mountPath, readOnly: mount.readOnly })),
        },
      ],
      volumes: job.mounts.map((mount, index) => ({ name: `claim-${index}`, persistentVolumeClaim: { claimName: mount.claim, readOnly: mount.readOnly } })),
    },
  };
}

export interface MigrationPodClient {
  /** Creates the Pod (or takes over one of that name a killed run left), waits for it to end, reads it, deletes it. */
  run(pod: ScriptPod, signal?: AbortSignal): Promise<PodOutcome>;
}

export function migrationPodClient(config: k8s.KubeConfig, pollMs = 500): MigrationPodClient {
  const core = config.makeApiClient(k8s.CoreV1Api);

  async function ended(namespace: string, name: string): Promise<k8s.V1Pod | undefined> {
    const live = await core.readNamespacedPod({ namespace, name });
    return live.status?.phase === 'Succeeded' || live.status?.phase === 'Failed' ? live : undefined;
  }

  return {
    async run(job, signal) {
      try {
        await core.createNamespacedPod({ namespace: job.namespace, body: scriptPodBody(job) });
      } catch (error) {
        if (!isConflict(error)) throw error;
      }
      let done: k8s.V1Pod | undefined;
      while (!(done = await ended(job.namespace, job.name))) {
        signal?.throwIfAborted();
        await delay(pollMs, undefined, signal ? { signal } : undefined);
      }
      const terminated = done.status?.containerStatuses?.find((status) => status.name === 'migrate')?.state?.terminated;
      let log = '';
      try {
        log = String((await core.readNamespacedPodLog({ namespace: job.namespace, name: job.name, container: 'migrate' })) ?? '');
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
      const outcome: PodOutcome = { succeeded: done.status?.phase === 'Succeeded', log };
      if (terminated?.message) outcome.message = terminated.message;
      if (done.status?.phase === 'Failed') outcome.reason = [done.status.reason, done.status.message, terminated?.reason].filter(Boolean).join(': ') || 'Failed';
      try {
        await core.deleteNamespacedPod({ namespace: job.namespace, name: job.name, gracePeriodSeconds: 0, body: { preconditions: { uid: done.metadata?.uid ?? '' } } });
      } catch (error) {
        if (!isNotFound(error) && !isConflict(error)) throw error;
      }
      return outcome;
    },
  };
}
