// Thin wrapper over the ConfigMap calls the seed-script keeper makes.
import type * as k8s from '@kubernetes/client-node';
import { apiStatusCode, isConflict, isNotFound } from './api-errors.ts';
import { apiRequests, resourcePath } from './api-requests.ts';
import { seedScriptLabel } from '../labels.ts';

export interface SeedScriptConfigMapClient {
  get(namespace: string, name: string): Promise<k8s.V1ConfigMap | undefined>;
  /** The created ConfigMap, or 'exists' when one of that name is there (HTTP 409): read it and judge it. */
  create(body: k8s.V1ConfigMap): Promise<k8s.V1ConfigMap | 'exists'>;
  /** Deletes exactly the object read ('changed': it was replaced or changed since; 'gone': already deleted). */
  delete(namespace: string, name: string, preconditions: { uid: string; resourceVersion: string }): Promise<'deleted' | 'gone' | 'changed'>;
  /** The ConfigMaps carrying the seed-script label, in every namespace (labels can be forged: judge each). */
  listLabelled(): Promise<k8s.V1ConfigMap[]>;
}

const configMapPath = (namespace?: string, name?: string) =>
  resourcePath({ version: 'v1', resource: 'configmaps', namespace, name });

export function seedScriptConfigMapClient(config: k8s.KubeConfig): SeedScriptConfigMapClient {
  const api = apiRequests(config);
  return {
    async get(namespace, name) {
      try {
        return await api.json<k8s.V1ConfigMap>('GET', configMapPath(namespace, name));
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
    },
    async create(body) {
      try {
        return await api.json<k8s.V1ConfigMap>('POST', configMapPath(body.metadata?.namespace ?? ''), { body });
      } catch (error) {
        if (isConflict(error)) return 'exists';
        throw error;
      }
    },
    async delete(namespace, name, preconditions) {
      try {
        await api.send('DELETE', configMapPath(namespace, name), { body: { preconditions } });
        return 'deleted';
      } catch (error) {
        if (isNotFound(error)) return 'gone';
        if (isConflict(error) || apiStatusCode(error) === 409) return 'changed';
        throw error;
      }
    },
    async listLabelled() {
      const items: k8s.V1ConfigMap[] = [];
      let next: string | undefined;
      do {
        const page = await api.json<k8s.V1ConfigMapList>('GET', configMapPath(), { query: { labelSelector: seedScriptLabel, limit: 500, continue: next } });
        items.push(...page.items);
        // The API server's name: client-node's decoded lists call it _continue.
        next = (page.metadata as { continue?: string } | undefined)?.continue || undefined;
      } while (next);
      return items;
    },
  };
}
