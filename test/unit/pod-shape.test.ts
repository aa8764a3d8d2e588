// Malformed Pods: a denial naming the field (422 Invalid), never an internal error, from both webhooks and review.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type AdmissionReviewResponse, type AdmissionSources } from '../../src/webhook/review.ts';
import { staticNamespaceLabels } from '../../src/admission/namespace-labels.ts';
import { podShapeErrors } from '../../src/admission/pod-shape.ts';
import { reviewValidation } from '../../src/webhook/validate.ts';
import { admissionReviewFor } from '../fixtures/pods.ts';
import { examplePolicy, sandboxLabels, sharedVolume } from '../fixtures/isolation.ts';
import { decideAdmission } from '../../src/webhook/decide.ts';
import { reviewAdmission } from '../../src/webhook/mutate.ts';

const sources: AdmissionSources = { policies: [examplePolicy('shared'), examplePolicy('workspace')], namespaceLabels: staticNamespaceLabels(undefined) };

/** A sandbox Pod that uses every field the checker walks. */
function validPod(): Record<string, any> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'sandbox-1', labels: sandboxLabels('alice'), annotations: { note: 'x' } },
    spec: {
      securityContext: { runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, supplementalGroups: [5] },
      schedulingGates: [{ name: 'example.com/wait' }],
      shareProcessNamespace: false,
      volumes: [
        { name: 'scratch', emptyDir: {} },
        { name: 'eph', ephemeral: { volumeClaimTemplate: { metadata: { labels: { a: 'b' } }, spec: { accessModes: ['ReadWriteOnce'] } } } },
      ],
      containers: [
        {
          name: 'main',
          image: 'registry.example/sandbox:1',
          command: ['sleep'],
          args: ['infinity'],
          env: [{ name: 'A', value: 'b' }],
          securityContext: { runAsUser: 1000, capabilities: { drop: ['ALL'] } },
          volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }],
          volumeDevices: [],
        },
      ],
      initContainers: [{ name: 'init', image: 'registry.example/init:1', volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }] }],
    },
  };
}

function set(target: any, path: Array<string | number>, value: unknown): void {
  let cursor = target;
  for (const key of path.slice(0, -1)) cursor = cursor[key];
  cursor[path.at(-1) as string | number] = value;
}

function fieldPaths(value: unknown, prefix: Array<string | number> = []): Array<Array<string | number>> {
  if (typeof value !== 'object' || value === null) return [prefix];
  return [prefix, ...Object.entries(value).flatMap(([key, entry]) => fieldPaths(entry, [...prefix, Array.isArray(value) ? Number(key) : key]))];
}

const allPaths = fieldPaths(validPod()).filter((path) => path.length > 0);

async function allAnswers(body: unknown): Promise<AdmissionReviewResponse[]> {
  return [
    (await reviewAdmission(structuredClone(body), sources)).review,
    (await reviewValidation(structuredClone(body), sources)).review,
    (await decideAdmission(structuredClone(body), sources)).decided,
  ];
}

function expectWellFormedAnswer(review: AdmissionReviewResponse): void {
  expect(review.apiVersion).toBe('admission.k8s.io/v1');
  expect(review.kind).toBe('AdmissionReview');
  expect(typeof review.response.allowed).toBe('boolean');
  if (review.response.status) {
    expect(review.response.status.code).toBeLessThan(500);
    expect(typeof review.response.status.message).toBe('string');
  }
  if (!review.response.allowed) expect(review.response.status?.code).toBeGreaterThanOrEqual(400);
}

describe('podShapeErrors', () => {
  it('finds nothing wrong with a well-formed sandbox Pod', () => {
    expect(podShapeErrors(validPod())).toEqual([]);
  });

  it('reports every problem at once, each with its field path', () => {
    const pod = validPod();
    pod.metadata.labels = [];
    pod.spec.securityContext = 'x';
    pod.spec.schedulingGates = {};
    pod.spec.volumes.push(null);
    pod.spec.containers[0].volumeMounts = {};
    pod.spec.containers[0].env = [{ name: 5 }];
    pod.spec.initContainers.push(null);
    pod.spec.ephemeralContainers = [null];
    expect(podShapeErrors(pod)).toEqual([
      'metadata.labels: must be an object',
      'spec.securityContext: must be an object',
      'spec.schedulingGates: must be a list',
      'spec.volumes[2]: must be an object',
      'spec.containers[0].env[0].name: must be a string',
      'spec.containers[0].volumeMounts: must be a list',
      'spec.initContainers[1]: must be an object',
      'spec.ephemeralContainers[0]: must be an object',
    ]);
  });

  it('names a label value that is not a string, and a missing spec', () => {
    expect(podShapeErrors({ metadata: { labels: { 'sandbox-storage.io/user': 5 } }, spec: { containers: {} } })).toEqual([
      'metadata.labels[sandbox-storage.io/user]: must be a string',
      'spec.containers: must be a list',
    ]);
    expect(podShapeErrors({ metadata: {} })).toEqual(['spec: Required value']);
  });

  it('treats a null field as absent, as the API server decodes it', () => {
    const pod = validPod();
    pod.spec.volumes = null;
    pod.spec.containers[0].volumeMounts = null;
    pod.spec.volumes = null;
    expect(podShapeErrors(pod)).toEqual([]);
  });
});

describe('malformed Pods get a denial naming the field from /mutate, /validate and review', () => {
  it.each([
    ['spec.containers[0].volumeMounts: must be a list', (pod: any) => (pod.spec.containers[0].volumeMounts = {})],
    ['spec.volumes[0]: must be an object', (pod: any) => (pod.spec.volumes[0] = null)],
    ['spec.containers[0]: must be an object', (pod: any) => pod.spec.containers.unshift(null)],
    ['spec.initContainers[0]: must be an object', (pod: any) => (pod.spec.initContainers[0] = null)],
    ['spec.ephemeralContainers[0]: must be an object', (pod: any) => (pod.spec.ephemeralContainers = [null])],
    ['spec.schedulingGates: must be a list', (pod: any) => (pod.spec.schedulingGates = {})],
    ['metadata.labels: must be an object', (pod: any) => (pod.metadata.labels = [])],
    ['spec.securityContext: must be an object', (pod: any) => (pod.spec.securityContext = 'x')],
    ['spec.containers: must be a list', (pod: any) => (pod.spec.containers = {})],
    ['metadata.labels[sandbox-storage.io/user]: must be a string', (pod: any) => (pod.metadata.labels['sandbox-storage.io/user'] = 5)],
  ])('%s', async (problem, breakIt) => {
    const pod = validPod();
    breakIt(pod);
    for (const review of await allAnswers(admissionReviewFor(pod))) {
      expect(review.response.allowed).toBe(false);
      expect(review.response.status).toEqual({ code: 422, reason: 'Invalid', message: expect.stringContaining(problem) });
    }
  });

  it('a huge malformed Pod lists the first problems and counts the rest', async () => {
    const pod = validPod();
    pod.spec.containers = Array.from({ length: 100 }, () => null);
    const [review] = await allAnswers(admissionReviewFor(pod));
    expect(review?.response.status?.message).toMatch(/spec\.containers\[19\]: must be an object; and 80 more$/);
  });

  it('a Pod no policy selects is not walked by the mutating webhook (the fast path)', async () => {
    const pod = validPod();
    pod.metadata.labels = { app: 'web' };
    pod.spec.containers[0].volumeMounts = {};
    const mutation = await reviewAdmission(admissionReviewFor(pod), sources);
    expect(mutation.review.response).toEqual({ uid: expect.any(String), allowed: true });
  });
});

describe('no input gives an internal error (properties)', () => {
  // Any value, as JSON carries it (the webhooks only ever see parsed JSON: no undefined, no functions).
  const anyJson = fc.anything().map((value) => JSON.parse(JSON.stringify(value) ?? 'null') as unknown);
  const createOrUpdate = fc.constantFrom('CREATE', 'UPDATE');

  it('any value at any field of a valid sandbox Pod', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...allPaths), anyJson, createOrUpdate, async (path, value, operation) => {
        const pod = validPod();
        set(pod, path, value);
        const fields = operation === 'UPDATE' ? { operation, oldObject: validPod() } : {};
        for (const review of await allAnswers(admissionReviewFor(pod, fields))) expectWellFormedAnswer(review);
      }),
      { numRuns: 1500 },
    );
  });

  it('any value as the Pod, its spec or its metadata', async () => {
    await fc.assert(
      fc.asyncProperty(anyJson, fc.constantFrom('pod', 'spec', 'metadata', 'oldObject'), async (value, where) => {
        const pod = validPod();
        const body =
          where === 'pod'
            ? admissionReviewFor(value)
            : where === 'oldObject'
              ? admissionReviewFor(pod, { operation: 'UPDATE', subResource: 'ephemeralcontainers', oldObject: value })
              : admissionReviewFor({ ...pod, [where]: value });
        for (const review of await allAnswers(body)) expectWellFormedAnswer(review);
      }),
      { numRuns: 1000 },
    );
  });

  it('several fields broken at once, with values from the shapes that crashed before', async () => {
    const junk = fc.constantFrom<unknown>(null, {}, [], 'x', 5, true, [null], [5], ['x'], { name: 5 });
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.constantFrom(...allPaths), junk), { minLength: 1, maxLength: 4 }), async (changes) => {
        const pod = validPod();
        for (const [path, value] of changes) {
          try {
            set(pod, path, structuredClone(value));
          } catch {
            // an earlier change removed this path's parent
          }
        }
        for (const review of await allAnswers(admissionReviewFor(pod))) expectWellFormedAnswer(review);
      }),
      { numRuns: 1000 },
    );
  });
});
