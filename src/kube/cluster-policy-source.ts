// Policies from SandboxStoragePolicy objects, kept current by a watch. Each object is checked again with the
// offline validation (the API server already applied the schema; this also catches objects stored by an older
// schema); an invalid update keeps the last good version of that policy serving. Of two policies whose storage
// collides (src/policy/policy-conflicts.ts), the older one serves and the newer one is refused.
import type * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { formatFieldErrors } from '../policy/field-errors.ts';
import { resolveConflicts } from '../policy/policy-conflicts.ts';
import { policyGroup, policyNames, policyVersion } from '../policy/schema.ts';
import { parseMigrationHolds } from '../policy/migration-hold.ts';
import type { Policy } from '../policy/types.ts';
import { validatePolicyDocument } from '../policy/validate.ts';
import { apiRequests, resourcePath } from './api-requests.ts';
import { makeInformer, watchedCache } from './informers.ts';
import { PolicyHolder, policySetOf, type PolicyLoadState, type PolicySet } from '../policy/sources/policy-set.ts';

export interface PolicyObject extends k8s.KubernetesObject {
  spec?: unknown;
  status?: unknown;
}

interface Entry {
  /** The version that serves (last good). */
  serving?: { policy: Policy; generation: number };
  state: PolicyLoadState;
  /** metadata.creationTimestamp: decides which of two conflicting policies serves. */
  createdAt: string;
}

export async function watchClusterPolicies(
  config: k8s.KubeConfig,
  logger: Logger,
  options: { syncTimeoutMs?: number } = {},
): Promise<PolicySet> {
  const api = apiRequests(config);
  const path = resourcePath({ group: policyGroup, version: policyVersion, resource: policyNames.plural });
  const list = () => api.json<k8s.KubernetesListObject<PolicyObject>>('GET', path);
  const informer = makeInformer<PolicyObject>(config, path, list);
  const holder = new PolicyHolder();
  const entries = new Map<string, Entry>();

  let refusedBefore = new Map<string, string>();
  const publish = () => {
    const { serving, refused } = resolveConflicts(
      [...entries.values()].flatMap((entry) => (entry.serving ? [{ policy: entry.serving.policy, createdAt: entry.createdAt }] : [])),
    );
    const states = [...entries.values()].map((entry): PolicyLoadState => {
      const conflict = refused.get(entry.state.name);
      if (!conflict) return entry.state;
      const { servingGeneration: _servingGeneration, ...state } = entry.state;
      return { ...state, ready: false, error: conflict.message, conflictsWith: conflict.others };
    });
    for (const [name, conflict] of refused) {
      if (refusedBefore.get(name) !== conflict.message) {
        logger.error({ policy: name, conflictsWith: conflict.others, err: conflict.message }, 'policy not serving: its storage collides with an older policy');
      }
    }
    refusedBefore = new Map([...refused].map(([name, conflict]) => [name, conflict.message]));
    holder.replace(serving, states);
  };

  const upsert = (object: PolicyObject) => {
    const name = object.metadata?.name ?? '';
    const generation = object.metadata?.generation ?? 0;
    const previous = entries.get(name);
    const created = new Date(object.metadata?.creationTimestamp ?? Number.NaN);
    const createdAt = Number.isNaN(created.getTime()) ? '' : created.toISOString();
    const { status: _status, ...document } = object;
    const result = validatePolicyDocument(document);
    if (result.policy) {
      // Migration holds live in annotations (no generation bump): every update re-reads them.
      const holds = parseMigrationHolds(object.metadata?.annotations);
      for (const hold of holds) {
        if (hold.error) logger.warn({ policy: name, plan: hold.plan, err: hold.error }, 'unreadable migration hold: every sandbox Pod of the policy is held');
      }
      const policy: Policy = holds.length > 0 ? { ...result.policy, holds } : result.policy;
      entries.set(name, {
        serving: { policy, generation },
        state: { name, origin: 'cluster', generation, ready: true, servingGeneration: generation },
        createdAt,
      });
      logger.info({ policy: name, generation, holds: holds.map((hold) => hold.plan) }, 'policy loaded');
    } else {
      const error = formatFieldErrors(result.errors);
      entries.set(name, {
        ...(previous?.serving ? { serving: previous.serving } : {}),
        state: {
          name,
          origin: 'cluster',
          generation,
          ready: false,
          error,
          ...(previous?.serving ? { servingGeneration: previous.serving.generation } : {}),
        },
        createdAt,
      });
      logger.error({ policy: name, generation, err: error }, 'policy invalid: the last good version, if any, keeps serving');
    }
    publish();
  };

  informer.on('add', upsert);
  informer.on('update', upsert);
  informer.on('delete', (object) => {
    entries.delete(object.metadata?.name ?? '');
    logger.info({ policy: object.metadata?.name }, 'policy removed');
    publish();
  });
  // Restarted with capped backoff on watch errors; startup waits for the first list, at most syncTimeoutMs.
  const watched = watchedCache(informer, 'SandboxStoragePolicies', logger);
  try {
    await watched.start({ timeoutMs: options.syncTimeoutMs ?? 30_000 });
  } catch (error) {
    await watched.stop();
    throw error;
  }
  publish();

  return policySetOf(holder, watched.synced, () => watched.stop());
}
