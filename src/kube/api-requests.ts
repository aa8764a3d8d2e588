// Plain-JSON calls to the API server, for the reads and writes src/kube makes. Through client-node's own
// authentication (KubeConfig#applySecurityAuthentication, so with the pooled connections of kube-config.ts) and
// its HTTP library, but not its generated API classes: those load every API group and model class (see
// client-parts.ts) and decode each answer into model objects. Answers are the API server's JSON as it is, as watch
// events are; a failed call throws client-node's ApiException with the status and the parsed Status body, so
// api-errors.ts classifies both the same way.
import type * as k8s from '@kubernetes/client-node';
import { ApiException, HttpMethod, IsomorphicFetchHttpLibrary, RequestContext } from './client-parts.ts';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export const patchTypes = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
} as const;

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /** The body's type: JSON unless a patch type. */
  contentType?: string;
}

export interface ApiRequests {
  /** The answer, parsed. */
  json<T>(method: Method, path: string, options?: RequestOptions): Promise<T>;
  /** For writes whose answer nobody reads (a gate patch returns the whole Pod): the body is drained, not parsed. */
  send(method: Method, path: string, options?: RequestOptions): Promise<void>;
}

/** `/api/v1/...` for the core group, else `/apis/<group>/<version>/...`; every segment URL-encoded. */
export function resourcePath(where: { group?: string; version: string; resource: string; namespace?: string; name?: string }): string {
  const base = where.group ? `/apis/${where.group}/${where.version}` : `/api/${where.version}`;
  const namespaced = where.namespace === undefined ? '' : `/namespaces/${encodeURIComponent(where.namespace)}`;
  const named = where.name === undefined ? '' : `/${encodeURIComponent(where.name)}`;
  return `${base}${namespaced}/${where.resource}${named}`;
}

const methods: Record<Method, HttpMethod> = {
  GET: HttpMethod.GET,
  POST: HttpMethod.POST,
  PUT: HttpMethod.PUT,
  PATCH: HttpMethod.PATCH,
  DELETE: HttpMethod.DELETE,
};

export function apiRequests(config: k8s.KubeConfig): ApiRequests {
  const http = new IsomorphicFetchHttpLibrary();
  const send = async (method: Method, path: string, options: RequestOptions = {}, read: boolean): Promise<unknown> => {
    const server = config.getCurrentCluster()?.server;
    if (!server) throw new Error('the kubeconfig has no current cluster');
    const url = new URL(server + path);
    for (const [key, value] of Object.entries(options.query ?? {})) if (value !== undefined) url.searchParams.set(key, String(value));
    const context = new RequestContext(url.toString(), methods[method]);
    context.setHeaderParam('Accept', 'application/json');
    if (options.body !== undefined) {
      context.setHeaderParam('Content-Type', options.contentType ?? 'application/json');
      context.setBody(JSON.stringify(options.body));
    }
    await config.applySecurityAuthentication(context);
    const response = await http.send(context).toPromise();
    const status = response.httpStatusCode;
    if (status >= 200 && status < 300) {
      if (!read) {
        // Read to the end all the same, so that the connection goes back to the pool.
        await response.body.text();
        return undefined;
      }
      const text = await response.body.text();
      return text === '' ? undefined : JSON.parse(text);
    }
    const text = await response.body.text();
    throw new ApiException(status, `${method} ${url.pathname}`, parsedOrText(text), response.headers);
  };
  return {
    json: async <T>(method: Method, path: string, options?: RequestOptions) => (await send(method, path, options, true)) as T,
    send: async (method, path, options) => {
      await send(method, path, options, false);
    },
  };
}

/** The API server's Status object, or the text when the body is not JSON (a proxy's error page). */
function parsedOrText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
