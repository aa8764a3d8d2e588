// Plain-JSON calls to the API server, for the reads and writes src/kube makes: over the keep-alive connections of
// api-transport.ts (client-node's authentication, not its HTTP library or generated API classes: those load every
// API group and model class, see client-parts.ts, and decode each answer into model objects). Answers are the API
// server's JSON as it is, as watch events are; a failed call throws client-node's ApiException with the status and
// the parsed Status body, so api-errors.ts classifies both the same way.
import type http from 'node:http';
import type * as k8s from '@kubernetes/client-node';
import { apiTransport } from './api-transport.ts';
import { ApiException } from './client-parts.ts';

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

/** The API server gives up on a request after 60 s itself; no byte for longer means the connection is gone. */
const requestTimeoutMs = 90_000;

export function withQuery(path: string, query: Record<string, string | number | boolean | undefined> | undefined): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) if (value !== undefined) search.set(key, String(value));
  const text = search.toString();
  return text === '' ? path : `${path}?${text}`;
}

export function apiRequests(config: k8s.KubeConfig): ApiRequests {
  const transport = apiTransport(config);
  const send = async (method: Method, path: string, options: RequestOptions = {}, read: boolean): Promise<unknown> => {
    const headers: Record<string, string> = { Accept: 'application/json' };
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    if (body !== undefined) headers['Content-Type'] = options.contentType ?? 'application/json';
    const response = await transport.request({
      method,
      path: withQuery(path, options.query),
      headers,
      ...(body === undefined ? {} : { body }),
      timeoutMs: requestTimeoutMs,
      timeoutError: () => new Error(`${method} ${path}: no answer from the API server within ${requestTimeoutMs / 1000} s`),
    });
    const status = response.statusCode ?? 0;
    if (status >= 200 && status < 300) {
      if (!read) {
        // Read to the end all the same, so that the connection goes back to the pool.
        await drained(response);
        return undefined;
      }
      const text = await bodyText(response);
      return text === '' ? undefined : JSON.parse(text);
    }
    const text = await bodyText(response);
    if (status === 401) transport.refresh();
    throw new ApiException(status, `${method} ${path}`, parsedOrText(text), headerValues(response.headers));
  };
  return {
    json: async <T>(method: Method, path: string, options?: RequestOptions) => (await send(method, path, options, true)) as T,
    send: async (method, path, options) => {
      await send(method, path, options, false);
    },
  };
}

function bodyText(response: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    response.on('data', (chunk: Buffer) => chunks.push(chunk));
    response.on('end', () => resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8')));
    failOnCut(response, reject);
  });
}

function drained(response: http.IncomingMessage): Promise<void> {
  return new Promise((resolve, reject) => {
    response.on('end', resolve);
    failOnCut(response, reject);
    response.resume();
  });
}

function failOnCut(response: http.IncomingMessage, reject: (error: unknown) => void): void {
  response.on('error', reject);
  response.on('close', () => {
    if (!response.complete) reject(new Error('the API server closed the connection before the answer was complete'));
  });
}

/** As client-node hands them to ApiException: one string per header. */
function headerValues(headers: http.IncomingHttpHeaders): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) values[name] = Array.isArray(value) ? value.join(', ') : value;
  return values;
}

/** The API server's Status object, or the text when the body is not JSON (a proxy's error page). */
function parsedOrText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
