// The Jobs of `sandbox-storage migrate`: one script, run once (no retries: a rerun of the command decides), in the
// data's namespace, with claims mounted where the script expects them. Returns what the script reported.
import * as k8s from '@kubernetes/client-node';
import { setTimeout as delay } from 'node:timers/promises';
import { isConflict, isNotFound } from './api-errors.ts';
import { managedByValue, migrationPlanLabel, ownershipLabels } from '../labels.ts';

export interface JobMount {
  claim: string;
  mountPath: string;
  readOnly: boolean;
}

export interface ScriptJob {
  namespace: string;
  name: string;
  planId: string;
  image: string;
  script: string;
  env: Record<string, string>;
  mounts: JobMount[];
  /** The Job fails after this long; the run reports it and a rerun starts it again. */
  deadlineSeconds: number;
}

export interface JobOutcome {
  succeeded: boolean;
  /** The container's termination message (its result line), if it wrote one. */
  message?: string;
  log: string;
  /** Why the Job did not finish normally (deadline, the Pod never started), if known. */
  reason?: string;
}

/**
 * Runs as root so that every file can be read and its owner kept, with only the capabilities that needs (the ones
 * the root seeder holds too) and no privilege escalation.
 */
export function scriptJobBody(job: ScriptJob): k8s.V1Job {
  const labels = { [ownershipLabels.managedBy]: managedByValue, [migrationPlanLabel]: job.planId };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: job.name, namespace: job.namespace, labels },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: job.deadlineSeconds,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          enableServiceLinks: false,
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
      },
    },
  };
}

export interface MigrationJobClient {
  /** Creates the Job (or takes over one of that name a killed run left), waits for it to end, reads it, deletes it. */
  run(job: ScriptJob, signal?: AbortSignal): Promise<JobOutcome>;
}

export function migrationJobClient(config: k8s.KubeConfig, pollMs = 500): MigrationJobClient {
  const batch = config.makeApiClient(k8s.BatchV1Api);
  const core = config.makeApiClient(k8s.CoreV1Api);

  async function finished(namespace: string, name: string): Promise<k8s.V1Job | undefined> {
    const live = await batch.readNamespacedJob({ namespace, name });
    const conditions = live.status?.conditions ?? [];
    return conditions.some((condition) => (condition.type === 'Complete' || condition.type === 'Failed') && condition.status === 'True') ? live : undefined;
  }

  return {
    async run(job, signal) {
      try {
        await batch.createNamespacedJob({ namespace: job.namespace, body: scriptJobBody(job) });
      } catch (error) {
        if (!isConflict(error)) throw error;
      }
      let done: k8s.V1Job | undefined;
      while (!(done = await finished(job.namespace, job.name))) {
        signal?.throwIfAborted();
        await delay(pollMs, undefined, signal ? { signal } : undefined);
      }
      const pods = await core.listNamespacedPod({ namespace: job.namespace, labelSelector: `job-name=${job.name}` });
      const pod = pods.items[0];
      const terminated = pod?.status?.containerStatuses?.find((status) => status.name === 'migrate')?.state?.terminated;
      let log = '';
      if (pod?.metadata?.name) {
        try {
          log = await core.readNamespacedPodLog({ namespace: job.namespace, name: pod.metadata.name, container: 'migrate' });
        } catch (error) {
          if (!isNotFound(error)) throw error;
        }
      }
      const failedCondition = done.status?.conditions?.find((condition) => condition.type === 'Failed' && condition.status === 'True');
      const outcome: JobOutcome = { succeeded: (done.status?.succeeded ?? 0) > 0, log: String(log ?? '') };
      if (terminated?.message) outcome.message = terminated.message;
      if (failedCondition) outcome.reason = `${failedCondition.reason ?? 'Failed'}: ${failedCondition.message ?? ''}`.trim();
      try {
        await batch.deleteNamespacedJob({ namespace: job.namespace, name: job.name, propagationPolicy: 'Background' });
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
      return outcome;
    },
  };
}
