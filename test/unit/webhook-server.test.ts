import { X509Certificate } from 'node:crypto';
import { Agent, request as httpsRequest, type RequestOptions } from 'node:https';
import type { TLSSocket } from 'node:tls';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AdmissionSources } from '../../src/webhook/review.ts';
import { staticNamespaceLabels } from '../../src/admission/namespace-labels.ts';
import { embeddedDefaultPolicies } from '../../src/policy/embedded-default.ts';
import { startWebhookServer, type WebhookServer } from '../../src/webhook/webhook-server.ts';
import { admissionReviewFor, decodePatch, sandboxPod, sandboxPodFor } from '../fixtures/pods.ts';
import { writeServingCertificate, type ServingCertificate } from '../harness/tls.ts';
import { waitFor } from '../harness/wait.ts';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json: any;
  peerCertificate?: string;
}

let tls: ServingCertificate;
let server: WebhookServer;
const logLines: any[] = [];
let sourcesOverride: (() => AdmissionSources) | undefined;
const sources: AdmissionSources = { policies: embeddedDefaultPolicies(), namespaceLabels: staticNamespaceLabels(undefined) };

function send(path: string, body: string | Buffer | undefined, options: RequestOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const request = httpsRequest(
      {
        host: '127.0.0.1',
        port: server.address.port,
        path,
        method: body === undefined ? 'GET' : 'POST',
        ca: tls.caPem,
        agent: false,
        headers: body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        ...options,
      },
      (response) => {
        // Read now: a keep-alive agent takes the socket back once the response ends.
        const certificate = (response.socket as TLSSocket).getPeerCertificate(true);
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body: text, json, peerCertificate: certificate.serialNumber });
        });
      },
    );
    request.on('error', reject);
    if (body !== undefined) request.write(body);
    request.end();
  });
}

function expectAdmissionReview(reply: Reply, uid: string, code?: number) {
  expect(reply.status).toBe(200);
  expect(reply.headers['content-type']).toMatch(/^application\/json/);
  expect(reply.json.apiVersion).toBe('admission.k8s.io/v1');
  expect(reply.json.kind).toBe('AdmissionReview');
  expect(reply.json.response.uid).toBe(uid);
  if (code !== undefined) {
    expect(reply.json.response.allowed).toBe(false);
    expect(reply.json.response.status.code).toBe(code);
  }
}

beforeAll(async () => {
  tls = await writeServingCertificate();
  const logger = pino({ level: 'info' }, { write: (line: string) => logLines.push(JSON.parse(line)) });
  server = await startWebhookServer({
    tls: { certFile: tls.certFile, keyFile: tls.keyFile },
    host: '127.0.0.1',
    port: 0,
    maxBodyBytes: 64 * 1024,
    sources: () => (sourcesOverride ? sourcesOverride() : sources),
    logger,
  });
});

afterAll(async () => {
  await server?.stop();
  await tls?.remove();
});

describe('webhook server over HTTPS', () => {
  it('mutates a sandbox pod and logs who asked for what', async () => {
    const review = admissionReviewFor(sandboxPod({ name: 'sbx-7' }), { name: 'sbx-7' });
    const reply = await send('/mutate', JSON.stringify(review));
    expectAdmissionReview(reply, review.request.uid);
    expect(reply.json.response.allowed).toBe(true);
    expect(reply.json.response.patchType).toBe('JSONPatch');
    // volume, mount, seed init container, scheduling gate, policy annotation
    expect(decodePatch(reply.json.response.patch).length).toBe(5);
    const line = logLines.find((entry) => entry.uid === review.request.uid);
    expect(line).toMatchObject({
      msg: 'pod mutated',
      namespace: 'agents',
      name: 'sbx-7',
      user: 'system:serviceaccount:platform:spawner',
      operation: 'CREATE',
      webhook: 'mutate',
      policy: 'default',
      result: 'mutated',
      claims: [expect.stringMatching(/^sandbox-/)],
    });
  });

  it('answers concurrent requests, on connections of their own, each with the answer for its Pod', async () => {
    const users = Array.from({ length: 24 }, (_, index) => `user-${index}`);
    const replies = await Promise.all(
      users.map((user, index) => {
        const review = admissionReviewFor(sandboxPodFor(user), { uid: `00000000-0000-4000-8000-${String(index).padStart(12, '0')}` });
        return send('/mutate', JSON.stringify(review)).then((reply) => ({ user, uid: review.request.uid, reply }));
      }),
    );
    for (const { user, uid, reply } of replies) {
      expectAdmissionReview(reply, uid);
      const volumes = decodePatch(reply.json.response.patch).find((operation: any) => operation.path === '/spec/volumes') as any;
      expect(volumes.value[0].persistentVolumeClaim.claimName).toContain(`-${user}-t1-`);
    }
  });

  it('passes a non-sandbox pod untouched', async () => {
    const review = admissionReviewFor(sandboxPod({ labels: { app: 'web' } }));
    const reply = await send('/mutate', JSON.stringify(review));
    expectAdmissionReview(reply, review.request.uid);
    expect(reply.json.response).toEqual({ uid: review.request.uid, allowed: true });
  });

  it('answers malformed JSON with an embedded 400', async () => {
    const reply = await send('/mutate', '{"apiVersion": "admission.k8s.io/v1", "kind":');
    expectAdmissionReview(reply, '', 400);
    expect(reply.json.response.status.message).toMatch(/^request body is not valid JSON/);
  });

  it.each([
    ['a JSON array', '[]', 400, 'request body must be a JSON AdmissionReview object'],
    ['the wrong kind', JSON.stringify({ apiVersion: 'v1', kind: 'Pod', request: { uid: 'u-1' } }), 400, 'expected kind AdmissionReview, apiVersion admission.k8s.io/v1; got kind Pod, apiVersion v1'],
    ['no request', JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }), 400, 'AdmissionReview has no request'],
    ['no uid', JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: {} }), 400, 'AdmissionReview request has no uid'],
  ])('answers %s with an embedded error', async (_, body, code, message) => {
    const reply = await send('/mutate', body);
    const uid = body.includes('u-1') ? 'u-1' : '';
    expectAdmissionReview(reply, uid, code);
    expect(reply.json.response.status.message).toBe(message);
  });

  it('answers a review without a Pod object, echoing the uid', async () => {
    const review = admissionReviewFor(undefined);
    delete review.request.object;
    const reply = await send('/mutate', JSON.stringify(review));
    expectAdmissionReview(reply, review.request.uid, 400);
    expect(reply.json.response.status.message).toBe('AdmissionReview request has no Pod object');
  });

  it('answers an oversized body with an embedded 413', async () => {
    const pod = sandboxPod() as Record<string, unknown>;
    (pod.metadata as Record<string, unknown>).annotations = { padding: 'x'.repeat(100 * 1024) };
    const reply = await send('/mutate', JSON.stringify(admissionReviewFor(pod)));
    expectAdmissionReview(reply, '', 413);
    expect(reply.json.response.status.message).toBe('request body exceeds the limit of 65536 bytes');
  });

  it('answers a wrong content type with an embedded 415', async () => {
    const body = JSON.stringify(admissionReviewFor(sandboxPod()));
    const reply = await send('/mutate', body, { headers: { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) } });
    expectAdmissionReview(reply, '', 415);
    expect(reply.json.response.status.message).toBe('unsupported content type "text/plain": expected application/json');
  });

  it('turns a thrown bug into an embedded 500 and keeps serving', async () => {
    sourcesOverride = () => {
      throw new Error('boom');
    };
    try {
      const reply = await send('/mutate', JSON.stringify(admissionReviewFor(sandboxPod())));
      expectAdmissionReview(reply, '', 500);
      expect(reply.json.response.status.message).toBe('internal error: boom');
    } finally {
      sourcesOverride = undefined;
    }
    const failingLookup: AdmissionSources = {
      policies: [{ ...sources.policies[0]!, spec: { ...sources.policies[0]!.spec, namespaceSelector: { matchLabels: { a: 'b' } } } }],
      namespaceLabels: async () => {
        throw new Error('namespace lookup failed');
      },
    };
    sourcesOverride = () => failingLookup;
    try {
      const review = admissionReviewFor(sandboxPod());
      const reply = await send('/mutate', JSON.stringify(review));
      expectAdmissionReview(reply, review.request.uid, 500);
      expect(reply.json.response.status.message).toBe('internal error: namespace lookup failed');
    } finally {
      sourcesOverride = undefined;
    }
    expect((await send('/healthz', undefined)).status).toBe(200);
  });

  it('serves health and readiness, and keeps connections alive longer than the API server does', async () => {
    const health = await send('/healthz', undefined);
    expect([health.status, health.body]).toEqual([200, 'ok']);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const ready = await send('/readyz', undefined, { agent });
      expect([ready.status, ready.body]).toEqual([200, 'ok']);
      expect(ready.headers['keep-alive']).toBe('timeout=120');
    } finally {
      agent.destroy();
    }
  });

  it('reloads a rotated certificate without restarting', async () => {
    const before = (await send('/healthz', undefined)).peerCertificate;
    const rotated = new X509Certificate(await tls.rotate());
    const serial = rotated.serialNumber.toUpperCase();
    await waitFor(async () => (await send('/healthz', undefined)).peerCertificate?.toUpperCase() === serial, {
      timeoutMs: 20_000,
      description: 'the server to present the rotated certificate',
    });
    expect(before?.toUpperCase()).not.toBe(serial);
  });
});

/**
 * POSTs `body` to /mutate in two halves: sends the first half at once and resolves `firstHalfSent` when it has left
 * the client; `finish()` sends the rest. For shutdown tests that need a request in flight.
 */
function postInTwoHalves(options: { port: number; caPem: string; agent: Agent | false; body: Buffer }) {
  const half = Math.floor(options.body.length / 2);
  let sent!: () => void;
  const firstHalfSent = new Promise<void>((resolve) => (sent = resolve));
  let request!: ReturnType<typeof httpsRequest>;
  const reply = new Promise<Reply>((resolve, reject) => {
    request = httpsRequest(
      {
        host: '127.0.0.1',
        port: options.port,
        path: '/mutate',
        method: 'POST',
        ca: options.caPem,
        agent: options.agent,
        headers: { 'content-type': 'application/json', 'content-length': options.body.length },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body: text, json: JSON.parse(text) });
        });
      },
    );
    request.on('error', reject);
    request.write(options.body.subarray(0, half), () => sent());
  });
  return { firstHalfSent, reply, finish: () => request.end(options.body.subarray(half)) };
}

describe('graceful shutdown', () => {
  it('closes a kept-alive connection once it has answered the request in flight, without waiting for the grace period', async () => {
    const local = await writeServingCertificate();
    const stoppable = await startWebhookServer({
      tls: { certFile: local.certFile, keyFile: local.keyFile },
      host: '127.0.0.1',
      port: 0,
      sources: () => sources,
      logger: pino({ level: 'silent' }),
      shutdownGraceMs: 120_000, // far beyond this test's timeout: only closing the connection lets stop() finish
    });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const review = admissionReviewFor(sandboxPod());
      const body = Buffer.from(JSON.stringify(review));
      const post = postInTwoHalves({ port: stoppable.address.port, caPem: local.caPem, agent, body });
      await post.firstHalfSent;
      const stopped = stoppable.stop();
      post.finish();
      const reply = await post.reply;
      expect(reply.json.response.uid).toBe(review.request.uid);
      expect(reply.headers.connection).toBe('close');
      await stopped;
    } finally {
      agent.destroy();
      await stoppable.stop();
      await local.remove();
    }
  }, 30_000);

  it('finishes a request in flight, then refuses new connections and reports not ready', async () => {
    const local = await writeServingCertificate();
    const logger = pino({ level: 'silent' });
    const stoppable = await startWebhookServer({
      tls: { certFile: local.certFile, keyFile: local.keyFile },
      host: '127.0.0.1',
      port: 0,
      sources: () => sources,
      logger,
    });
    try {
      const review = admissionReviewFor(sandboxPod());
      const body = Buffer.from(JSON.stringify(review));
      const post = postInTwoHalves({ port: stoppable.address.port, caPem: local.caPem, agent: false, body });
      // the server has the first half before it is told to stop
      await post.firstHalfSent;
      const stopped = stoppable.stop();
      post.finish();
      const reply = await post.reply;
      await stopped;
      expect(reply.status).toBe(200);
      expect(reply.json.response.uid).toBe(review.request.uid);
      expect(reply.json.response.allowed).toBe(true);
      await expect(
        new Promise((resolve, reject) => {
          const request = httpsRequest({ host: '127.0.0.1', port: stoppable.address.port, path: '/readyz', ca: local.caPem, agent: false }, resolve);
          request.on('error', reject);
          request.end();
        }),
      ).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    } finally {
      await stoppable.stop();
      await local.remove();
    }
  });
});

describe.runIf(process.platform === 'linux')('replicas sharing a host network (--reuse-port)', () => {
  const get = (port: number, caPem: string) =>
    new Promise<number>((resolve, reject) => {
      const request = httpsRequest({ host: '127.0.0.1', port, path: '/healthz', ca: caPem, agent: false }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      request.on('error', reject);
      request.end();
    });

  it('lets a second replica listen on the same port, which keeps answering when the first stops', async () => {
    const local = await writeServingCertificate();
    const start = (port: number, reusePort: boolean) =>
      startWebhookServer({ tls: { certFile: local.certFile, keyFile: local.keyFile }, host: '127.0.0.1', port, reusePort, sources: () => sources, logger: pino({ level: 'silent' }) });
    const first = await start(0, true);
    const port = first.address.port;
    let second: WebhookServer | undefined;
    try {
      second = await start(port, true);
      expect(second.address.port).toBe(port);
      await first.stop();
      expect(await get(port, local.caPem)).toBe(200);
    } finally {
      await first.stop();
      await second?.stop();
      await local.remove();
    }
  });

  it('refuses the shared port to a listener without it', async () => {
    const local = await writeServingCertificate();
    const start = (port: number, reusePort: boolean) =>
      startWebhookServer({ tls: { certFile: local.certFile, keyFile: local.keyFile }, host: '127.0.0.1', port, reusePort, sources: () => sources, logger: pino({ level: 'silent' }) });
    const first = await start(0, true);
    try {
      await expect(start(first.address.port, false)).rejects.toThrow(/EADDRINUSE/);
    } finally {
      await first.stop();
      await local.remove();
    }
  });
});
