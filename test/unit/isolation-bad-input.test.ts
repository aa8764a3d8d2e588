// Hostile input for both webhooks: a corpus of malformed, truncated, huge, deeply nested and type-confused
// AdmissionReviews (in-process and over HTTPS), and property tests over generated ids and subPaths.
import { request as httpsRequest } from 'node:https';
import fc from 'fast-check';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdmissionReviewResponse, type AdmissionSources } from '../../src/webhook/review.ts';
import { normaliseSubPath, isWithin } from '../../src/admission/isolation/subpath-scope.ts';
import { reviewValidation } from '../../src/webhook/validate.ts';
import { staticNamespaceLabels } from '../../src/admission/namespace-labels.ts';
import { directoryNameForId, workspaceClaimName } from '../../src/naming/identity-names.ts';
import { dns1123SubdomainError, labelValueError } from '../../src/naming/kubernetes-names.ts';
import { startWebhookServer, type WebhookServer } from '../../src/webhook/webhook-server.ts';
import { admissionReviewFor } from '../fixtures/pods.ts';
import { examplePolicy, podMounting, podWith, requesters, sandboxLabels, sharedVolume } from '../fixtures/isolation.ts';
import { writeServingCertificate, type ServingCertificate } from '../harness/tls.ts';
import { decideAdmission, mutatedPod } from '../../src/webhook/decide.ts';
import { reviewAdmission } from '../../src/webhook/mutate.ts';

const shared = examplePolicy('shared');
const workspace = examplePolicy('workspace');
const sources: AdmissionSources = { policies: [shared, workspace], namespaceLabels: staticNamespaceLabels(undefined) };

function expectValidReview(review: AdmissionReviewResponse, uid?: string): void {
  expect(review.apiVersion).toBe('admission.k8s.io/v1');
  expect(review.kind).toBe('AdmissionReview');
  expect(typeof review.response.uid).toBe('string');
  if (uid !== undefined) expect(review.response.uid).toBe(uid);
  expect(typeof review.response.allowed).toBe('boolean');
  if (!review.response.allowed) {
    expect(typeof review.response.status?.code).toBe('number');
    expect(typeof review.response.status?.message).toBe('string');
  }
  expect(() => JSON.stringify(review)).not.toThrow();
}

function nested(depth: number): unknown {
  let value: unknown = 'bottom';
  for (let level = 0; level < depth; level += 1) value = { nested: value };
  return value;
}

const podWithSpec = (spec: unknown, labels: unknown = sandboxLabels('alice')) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { labels }, spec });
const request = (fields: Record<string, unknown>) => admissionReviewFor(podWith({ labels: sandboxLabels('alice') }), fields);

const corpus: Array<[string, unknown]> = [
  ['null', null],
  ['a number', 42],
  ['a string', 'AdmissionReview'],
  ['an array', [{ kind: 'AdmissionReview' }]],
  ['an empty object', {}],
  ['wrong apiVersion', { apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', request: { uid: 'x' } }],
  ['no request', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }],
  ['request is a string', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: 'CREATE' }],
  ['uid is a number', request({ uid: 7 })],
  ['kind is a string', request({ kind: 'Pod' })],
  ['kind is null', request({ kind: null })],
  ['operation is a number', request({ operation: 1 })],
  ['subResource is an object', request({ subResource: { name: 'ephemeralcontainers' } })],
  ['object is a string', request({ object: 'pod' })],
  ['object is an array', request({ object: [] })],
  ['object is null', request({ object: null })],
  ['metadata is a number', request({ object: { kind: 'Pod', metadata: 5, spec: {} } })],
  ['labels is an array', request({ object: podWithSpec({ containers: [] }, ['inject']) })],
  ['label values are not strings', request({ object: podWithSpec({ containers: [] }, { 'sandbox-storage.io/inject': true, 'sandbox-storage.io/user': 5 }) })],
  ['spec is a string', request({ object: podWithSpec('spec') })],
  ['containers is an object', request({ object: podWithSpec({ containers: { name: 'x' } }) })],
  ['containers hold junk', request({ object: podWithSpec({ containers: [null, 5, 'x', { volumeMounts: 'all' }, { volumeMounts: [null, { name: 5 }, { name: 'data', subPath: 5 }] }], volumes: [sharedVolume()] }) })],
  ['volumes hold junk', request({ object: podWithSpec({ containers: [{ name: 'c', volumeMounts: [{ name: 'v', mountPath: '/v' }] }], volumes: [null, 1, { name: 'v', persistentVolumeClaim: null }, { name: 'w', persistentVolumeClaim: { claimName: 5 } }, { name: 'e', ephemeral: { volumeClaimTemplate: { spec: { dataSource: 'sandbox-data' } } } }] }) })],
  ['subPathExpr is a number', request({ object: podMounting({}, sharedVolume(), { subPathExpr: 12 }) })],
  ['userInfo is a string', request({ userInfo: 'admin' })],
  ['groups is a string', request({ userInfo: { username: 'bob', groups: 'system:masters' } })],
  ['groups hold junk', request({ userInfo: { username: 5, groups: [null, 1, { name: 'g' }] } })],
  ['UPDATE without oldObject', request({ operation: 'UPDATE' })],
  ['ephemeralcontainers UPDATE with junk oldObject', request({ operation: 'UPDATE', subResource: 'ephemeralcontainers', oldObject: { spec: { ephemeralContainers: 'x' } } })],
  ['ephemeralcontainers UPDATE with junk ephemeral containers', request({ operation: 'UPDATE', subResource: 'ephemeralcontainers', oldObject: {}, object: podWithSpec({ containers: [], ephemeralContainers: [null, { targetContainerName: 5 }, { volumeDevices: 'x' }] }) })],
  // Built fresh for each use: deep enough that cloning them recursively overflows the stack.
  ['deeply nested field', () => request({ object: { ...podWith({ labels: sandboxLabels('alice') }), extra: nested(20000) } })],
  ['deeply nested ephemeral container', () => request({ operation: 'UPDATE', subResource: 'ephemeralcontainers', oldObject: {}, object: podWithSpec({ containers: [], ephemeralContainers: [nested(20000)] }) })],
  ['huge: 3000 containers mounting the shared claim', request({ object: podWithSpec({ volumes: [sharedVolume()], containers: Array.from({ length: 3000 }, (_, index) => ({ name: `c${index}`, volumeMounts: [{ name: 'data', mountPath: '/d', subPath: `users/u${index}` }] })) }) })],
  ['CONNECT exec with junk options', request({ operation: 'CONNECT', resource: { resource: 'pods' }, subResource: 'exec', name: 'x', object: 'ls' })],
  ['CONNECT with a resource of the wrong type', request({ operation: 'CONNECT', resource: 'pods', subResource: 'exec' })],
  ['huge label value', request({ object: podWithSpec({ containers: [{ name: 'c' }] }, { ...sandboxLabels('alice'), 'sandbox-storage.io/user': 'a'.repeat(1_000_000) }) })],
  ['prototype keys', JSON.parse('{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"p","kind":{"kind":"Pod"},"operation":"CREATE","object":{"metadata":{"labels":{"__proto__":{"sandbox-storage.io/inject":"true"}}},"spec":{"containers":[{"name":"c","volumeMounts":[{"name":"__proto__"}]}],"volumes":[{"name":"__proto__","persistentVolumeClaim":{"claimName":"sandbox-data"}}]}}}}')],
];

const fresh = (body: unknown): unknown => (typeof body === 'function' ? body() : structuredClone(body));

describe('bad input corpus: every answer is a valid AdmissionReview', () => {
  it.each(corpus)('%s', async (_, body) => {
    const validation = await reviewValidation(fresh(body), sources);
    expectValidReview(validation.review);
    const mutation = await reviewAdmission(fresh(body), sources);
    expectValidReview(mutation.review);
    const decided = await decideAdmission(fresh(body), sources);
    expectValidReview(decided.decided);
  });

  it('the hostile 3000-container pod is denied, not allowed', async () => {
    const huge = corpus.find(([name]) => name.startsWith('huge: 3000'))![1];
    const outcome = await reviewValidation(huge, sources);
    expect(outcome.review.response.allowed).toBe(false);
    expect(outcome.review.response.status?.message).toContain('rule SharedSubPathScope');
  });

  it('a __proto__-named volume of the shared claim is still recognised', async () => {
    const outcome = await reviewValidation(corpus.at(-1)![1], sources);
    expect(outcome.review.response.allowed).toBe(false);
  });
});

describe('bad input over HTTPS to /validate', () => {
  let tls: ServingCertificate;
  let server: WebhookServer;
  beforeAll(async () => {
    tls = await writeServingCertificate();
    server = await startWebhookServer({
      tls: { certFile: tls.certFile, keyFile: tls.keyFile },
      host: '127.0.0.1',
      port: 0,
      sources: () => sources,
      logger: pino({ level: 'silent' }),
      maxBodyBytes: 4 * 1024 * 1024,
    });
  });
  afterAll(async () => {
    await server?.stop();
    await tls?.remove();
  });

  function post(body: string): Promise<{ status: number; json: AdmissionReviewResponse }> {
    return new Promise((resolve, reject) => {
      const outgoing = httpsRequest(
        {
          host: '127.0.0.1',
          port: server.address.port,
          path: '/validate',
          method: 'POST',
          ca: tls.caPem,
          agent: false,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
        },
      );
      outgoing.on('error', reject);
      outgoing.end(body);
    });
  }

  const valid = JSON.stringify(admissionReviewFor(podMounting({}, sharedVolume(), {})));
  it.each([
    ['truncated JSON', valid.slice(0, valid.length / 2)],
    ['not JSON', '<AdmissionReview/>'],
    ['empty body', ''],
    ['over the size limit', JSON.stringify({ pad: 'x'.repeat(5 * 1024 * 1024) })],
    ['a corpus entry: junk containers', JSON.stringify(corpus.find(([name]) => name === 'containers hold junk')![1])],
  ])('%s', async (_, body) => {
    const reply = await post(body);
    expect(reply.status).toBe(200);
    expectValidReview(reply.json);
  });

  it('a governed escape is denied over the wire', async () => {
    const reply = await post(valid);
    expectValidReview(reply.json, 'f0e1d2c3-0000-4000-8000-000000000001');
    expect(reply.json.response.allowed).toBe(false);
    expect(reply.json.response.status?.message).toContain('rule SharedVolumeRoot');
  });
});

// --- properties --------------------------------------------------------------------------------------------------

const idPieces = ['a', 'Z', 'alice', 'Alice', 'ALICE', '_', '__', '-', '.', '..', '/', '\0', 'é', '日本', '🙂', ' ', 'x'.repeat(70), '_a', 'A_'];
const generatedId = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 70 }),
  fc.array(fc.constantFrom(...idPieces), { minLength: 1, maxLength: 6 }).map((parts) => parts.join('')),
  fc.stringMatching(/^[A-Za-z0-9][-A-Za-z0-9_.]{0,61}[A-Za-z0-9]$/),
);
const validId = fc.stringMatching(/^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/);

async function decideFor(policy: typeof shared, user: string, thread: string) {
  const body = admissionReviewFor(podWith({ labels: sandboxLabels(user, thread) }), { userInfo: requesters.spawner });
  return decideAdmission(body, { policies: [policy], namespaceLabels: staticNamespaceLabels(undefined) });
}

function sharedSubPaths(pod: unknown): string[] {
  const containers = [
    ...((pod as { spec: { initContainers?: Array<{ volumeMounts?: Array<{ name: string; subPath?: string }> }> } }).spec.initContainers ?? []),
    ...(pod as { spec: { containers: Array<{ volumeMounts?: Array<{ name: string; subPath?: string }> }> } }).spec.containers,
  ];
  return containers.flatMap((container) => (container.volumeMounts ?? []).filter((mount) => mount.name === 'sandbox-storage-shared').map((mount) => mount.subPath ?? ''));
}

describe('properties over generated ids and subPaths', () => {
  it('any id pair: a valid AdmissionReview; valid ids get DNS-valid claims and paths inside their own prefix, others are denied', async () => {
    await fc.assert(
      fc.asyncProperty(generatedId, generatedId, async (user, thread) => {
        const idsValid = user !== '' && thread !== '' && labelValueError(user) === undefined && labelValueError(thread) === undefined;
        for (const policy of [shared, workspace]) {
          const { decided, mutation } = await decideFor(policy, user, thread);
          expectValidReview(decided);
          expect(decided.response.allowed).toBe(idsValid);
          if (!idsValid) continue;
          const pod = mutatedPod(mutation) as { spec: { volumes: Array<{ persistentVolumeClaim?: { claimName: string } }> } };
          for (const volume of pod.spec.volumes) {
            const claim = volume.persistentVolumeClaim?.claimName;
            if (claim !== undefined) expect(dns1123SubdomainError(claim)).toBeUndefined();
          }
          for (const subPath of sharedSubPaths(pod)) {
            expect(normaliseSubPath(subPath).path).toBe(subPath);
            expect(isWithin(subPath, `users/${directoryNameForId(user)}`)).toBe(true);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('distinct identities never share storage: different claims, disjoint directories', () => {
    fc.assert(
      fc.property(validId, validId, validId, validId, (userA, threadA, userB, threadB) => {
        fc.pre(userA !== userB || threadA !== threadB);
        const claim = (user: string, thread: string) => workspaceClaimName('sandbox-', { scope: 'thread', user, thread });
        expect(claim(userA, threadA)).not.toBe(claim(userB, threadB));
        const dir = (user: string, thread: string) => `users/${directoryNameForId(user)}/threads/${directoryNameForId(thread)}/user-data`;
        expect(isWithin(dir(userA, threadA), dir(userB, threadB))).toBe(false);
        expect(isWithin(dir(userB, threadB), dir(userA, threadA))).toBe(false);
        if (userA !== userB) {
          expect(isWithin(`users/${directoryNameForId(userA)}`, `users/${directoryNameForId(userB)}`)).toBe(false);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("any subPath on the shared claim: allowed exactly when it normalises to one of the identity's own directories", async () => {
    const own = ['users/alice/threads/t1/user-data', 'users/alice/skills'];
    const segment = fc.constantFrom('', '.', '..', 'users', 'alice', 'Alice', 'bob', 'threads', 't1', 't2', 'user-data', 'skills', '\0', 'x');
    const subPath = fc.tuple(fc.boolean(), fc.array(segment, { maxLength: 8 })).map(([absolute, parts]) => `${absolute ? '/' : ''}${parts.join('/')}`);
    await fc.assert(
      fc.asyncProperty(subPath, fc.boolean(), async (path, readOnly) => {
        const pod = podMounting(sandboxLabels('alice'), sharedVolume(), { subPath: path, readOnly });
        const outcome = await reviewValidation(admissionReviewFor(pod, { userInfo: requesters.alice }), { policies: [shared], namespaceLabels: staticNamespaceLabels(undefined) });
        expectValidReview(outcome.review);
        const normalised = normaliseSubPath(path).path;
        const expected = normalised === own[0] || (normalised === own[1] && readOnly);
        expect(outcome.review.response.allowed).toBe(expected);
      }),
      { numRuns: 1000 },
    );
  });
});
