// Creates Pods over one kept-alive HTTPS connection with the admin credentials of a test control plane.
// @kubernetes/client-node opened a new TLS connection per request here (≈ 11 ms on the reference machine), which
// would drown what the webhook adds; a real controller's client keeps its connections.
import { Agent, request } from 'node:https';
import type * as k8s from '@kubernetes/client-node';
import type { ControlPlane } from '../../test/harness/controlplane.ts';

export interface PodClient {
  /** Resolves with the created Pod once the whole answer has arrived; `elapsedMs` excludes parsing it. */
  create(namespace: string, pod: unknown, options?: { dryRun?: boolean }): Promise<{ pod: k8s.V1Pod; elapsedMs: number }>;
  /** POSTs any namespaced object, e.g. a PersistentVolumeClaim to `persistentvolumeclaims`. */
  post(path: string, body: unknown): Promise<{ status: number; elapsedMs: number }>;
  /** GETs a path and parses the JSON answer. */
  get(path: string): Promise<Record<string, unknown>>;
  /** GETs a path and returns the answer as text (e.g. `/metrics`). */
  getText(path: string): Promise<string>;
  close(): void;
}

/** `maxSockets`: connections kept to the API server; an open-loop load needs enough to keep its rate while requests wait. */
export async function podClient(controlPlane: ControlPlane, { maxSockets = 4 }: { maxSockets?: number } = {}): Promise<PodClient> {
  const options: { ca?: unknown; cert?: unknown; key?: unknown } = {};
  await controlPlane.kubeConfig.applyToHTTPSOptions(options as never);
  const agent = new Agent({ keepAlive: true, maxSockets, ca: options.ca as string, cert: options.cert as string, key: options.key as string });
  const send = (method: 'GET' | 'POST', path: string, body?: unknown, accept = 'application/json') =>
    new Promise<{ status: number; text: string; elapsedMs: number }>((resolve, reject) => {
      const payload = body === undefined ? '' : JSON.stringify(body);
      const started = performance.now();
      const outgoing = request(
        new URL(path, controlPlane.serverUrl),
        { method, agent, headers: { 'content-type': 'application/json', accept } },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => {
            const elapsedMs = performance.now() - started;
            resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), elapsedMs });
          });
          response.on('error', reject);
        },
      );
      outgoing.on('error', reject);
      outgoing.end(payload);
    });
  return {
    async create(namespace, pod, createOptions = {}) {
      const path = `/api/v1/namespaces/${namespace}/pods${createOptions.dryRun ? '?dryRun=All' : ''}`;
      const answer = await send('POST', path, pod);
      if (answer.status !== 201) throw new Error(`Pod create answered HTTP ${answer.status}: ${answer.text.slice(0, 500)}`);
      return { pod: JSON.parse(answer.text) as k8s.V1Pod, elapsedMs: answer.elapsedMs };
    },
    async post(path, body) {
      const answer = await send('POST', path, body);
      if (answer.status !== 201) throw new Error(`POST ${path} answered HTTP ${answer.status}: ${answer.text.slice(0, 500)}`);
      return { status: answer.status, elapsedMs: answer.elapsedMs };
    },
    async get(path) {
      const answer = await send('GET', path);
      if (answer.status !== 200) throw new Error(`GET ${path} answered HTTP ${answer.status}: ${answer.text.slice(0, 500)}`);
      return JSON.parse(answer.text) as Record<string, unknown>;
    },
    async getText(path) {
      const answer = await send('GET', path, undefined, 'text/plain');
      if (answer.status !== 200) throw new Error(`GET ${path} answered HTTP ${answer.status}: ${answer.text.slice(0, 500)}`);
      return answer.text;
    },
    close: () => agent.destroy(),
  };
}
