// Writes each cluster policy's status subresource from the webhook's own view of it. The manager runs it on the
// leader only, so replicas do not fight over the same objects; writes only what changed.
import type * as k8s from '@kubernetes/client-node';
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import { policyGroup, policyNames, policyVersion } from '../policy/schema.ts';
import type { PolicySet } from '../policy/sources/policy-set.ts';
import { desiredPolicyStatus } from '../policy/status.ts';
import type { PolicyStatus } from '../policy/types.ts';
import { isNotFound } from './api-errors.ts';
import { apiRequests, patchTypes, resourcePath } from './api-requests.ts';

export interface PolicyStatusWriter {
  /** Writes now (also called on every policy change); resolves when done. */
  sync(): Promise<void>;
  stop(): void;
}

export function writePolicyStatus(
  config: k8s.KubeConfig,
  policies: PolicySet,
  logger: Logger,
  resyncMs = 60_000,
): PolicyStatusWriter {
  const api = apiRequests(config);
  const statusPath = (name: string) => `${resourcePath({ group: policyGroup, version: policyVersion, resource: policyNames.plural, name })}/status`;
  let running: Promise<void> | undefined;
  let again = false;
  // The policy set keeps its listeners: a stopped writer (leadership lost) must ignore them.
  let stopped = false;

  const writeAll = async () => {
    if (stopped) return;
    const serving = policies.current();
    for (const state of policies.states()) {
      if (state.origin !== 'cluster') continue;
      try {
        const object = await api.json<{ status?: PolicyStatus }>('GET', statusPath(state.name));
        const desired = desiredPolicyStatus(state, serving, object.status, new Date());
        if (isDeepStrictEqual(object.status, desired)) continue;
        await api.send('PATCH', statusPath(state.name), { body: { status: desired }, contentType: patchTypes.merge });
      } catch (error) {
        if (isNotFound(error)) continue; // deleted meanwhile
        logger.warn({ err: error, policy: state.name }, 'cannot write policy status; retrying on the next change or resync');
      }
    }
  };

  // One write at a time; changes arriving meanwhile trigger one more pass.
  const sync = (): Promise<void> => {
    if (running) {
      again = true;
      return running;
    }
    running = writeAll().finally(() => {
      running = undefined;
      if (again) {
        again = false;
        void sync();
      }
    });
    return running;
  };
  policies.onChange(() => void sync());
  const timer = setInterval(() => void sync(), resyncMs);
  timer.unref();
  void sync();
  return {
    sync,
    stop: () => {
      stopped = true;
      clearInterval(timer);
    },
  };
}
