// Realistic AdmissionReviews for load tests: Pods as the API server sends them to a mutating webhook, i.e. after
// defaulting (imagePullPolicy, terminationMessagePath, tolerations, ...) and with managedFields, grown with env vars
// (agent sandboxes carry many) until the serialized review reaches the wanted size.

export interface AdmissionPayload {
  /** Short id used in results, e.g. `sandbox-5.5k`. */
  id: string;
  description: string;
  /** The serialized AdmissionReview, exactly as sent. */
  body: string;
  /** The Pod alone, for creating it through the API server. */
  pod: Record<string, unknown>;
  /** Whether the default policy selects this Pod (sandbox) or lets it pass untouched (fast path). */
  sandbox: boolean;
}

const sandboxLabels = {
  'sandbox-storage.io/inject': 'true',
  'sandbox-storage.io/user': 'alice.example',
  'sandbox-storage.io/thread': 'thread-7f3a9c2e',
};

function envVar(index: number) {
  return { name: `AGENT_SETTING_${String(index).padStart(3, '0')}`, value: `value-${index}-${'x'.repeat(24)}` };
}

function managedFieldsFor(containers: Array<{ name: string; env: Array<{ name: string }> }>, labels: Record<string, string>) {
  const fieldsContainers: Record<string, unknown> = {};
  for (const container of containers) {
    const env: Record<string, unknown> = { '.': {} };
    for (const variable of container.env) env[`k:{"name":"${variable.name}"}`] = { '.': {}, 'f:name': {}, 'f:value': {} };
    fieldsContainers[`k:{"name":"${container.name}"}`] = {
      '.': {},
      'f:command': {},
      'f:env': env,
      'f:image': {},
      'f:imagePullPolicy': {},
      'f:name': {},
      'f:resources': { '.': {}, 'f:limits': { '.': {}, 'f:cpu': {}, 'f:memory': {} }, 'f:requests': { '.': {}, 'f:cpu': {}, 'f:memory': {} } },
      'f:terminationMessagePath': {},
      'f:terminationMessagePolicy': {},
    };
  }
  const fieldsLabels: Record<string, unknown> = { '.': {} };
  for (const key of Object.keys(labels)) fieldsLabels[`f:${key}`] = {};
  return [
    {
      manager: 'sandbox-spawner',
      operation: 'Update',
      apiVersion: 'v1',
      time: '2026-11-25T09:00:00Z',
      fieldsType: 'FieldsV1',
      fieldsV1: {
        'f:metadata': { 'f:generateName': {}, 'f:labels': fieldsLabels, 'f:annotations': { '.': {}, 'f:agents.example/session': {} } },
        'f:spec': {
          'f:containers': fieldsContainers,
          'f:dnsPolicy': {},
          'f:enableServiceLinks': {},
          'f:restartPolicy': {},
          'f:schedulerName': {},
          'f:securityContext': {},
          'f:terminationGracePeriodSeconds': {},
        },
      },
    },
  ];
}

function container(name: string, image: string, envCount: number, envStart: number) {
  return {
    name,
    image,
    command: ['/usr/local/bin/agent-runtime', '--listen=:8080'],
    env: Array.from({ length: envCount }, (_, index) => envVar(envStart + index)),
    resources: { limits: { cpu: '2', memory: '4Gi' }, requests: { cpu: '500m', memory: '1Gi' } },
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
    imagePullPolicy: 'IfNotPresent',
  };
}

/** A defaulted Pod with `envCount` env vars spread over its containers (a sidecar once there are many). */
function buildPod(labels: Record<string, string>, envCount: number): Record<string, unknown> {
  const sidecarEnv = envCount > 60 ? Math.floor(envCount / 3) : 0;
  const containers = [container('sandbox', 'registry.example/agents/sandbox:1.2.3', envCount - sidecarEnv, 0)];
  if (sidecarEnv > 0) containers.push(container('tool-proxy', 'registry.example/agents/tool-proxy:0.9.1', sidecarEnv, envCount));
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: 'sandbox-',
      namespace: 'agents',
      labels: { ...labels, 'app.kubernetes.io/name': 'agent-sandbox', 'app.kubernetes.io/managed-by': 'sandbox-spawner' },
      annotations: { 'agents.example/session': 'session-0b7c1d2e3f4a5b6c' },
      managedFields: managedFieldsFor(containers, labels),
    },
    spec: {
      containers,
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 30,
      dnsPolicy: 'ClusterFirst',
      securityContext: {},
      schedulerName: 'default-scheduler',
      tolerations: [
        { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
        { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      ],
      priority: 0,
      enableServiceLinks: true,
      preemptionPolicy: 'PreemptLowerPriority',
    },
    status: { phase: 'Pending', qosClass: 'Burstable' },
  };
}

function reviewFor(pod: Record<string, unknown>, uid: string): Record<string, unknown> {
  return {
    kind: 'AdmissionReview',
    apiVersion: 'admission.k8s.io/v1',
    request: {
      uid,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      requestKind: { group: '', version: 'v1', kind: 'Pod' },
      requestResource: { group: '', version: 'v1', resource: 'pods' },
      namespace: 'agents',
      operation: 'CREATE',
      userInfo: {
        username: 'system:serviceaccount:agents:sandbox-spawner',
        uid: '6f1c2d3e-4a5b-4c6d-8e7f-0a1b2c3d4e5f',
        groups: ['system:serviceaccounts', 'system:serviceaccounts:agents', 'system:authenticated'],
        extra: {
          'authentication.kubernetes.io/pod-name': ['sandbox-spawner-7d9f8c6b5-x2k4p'],
          'authentication.kubernetes.io/pod-uid': ['0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f'],
        },
      },
      object: pod,
      oldObject: null,
      dryRun: false,
      options: { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1', fieldManager: 'sandbox-spawner' },
    },
  };
}

/** The smallest review of at least `targetBytes` bytes, grown one env var at a time. */
function reviewOfSize(labels: Record<string, string>, targetBytes: number): { body: string; pod: Record<string, unknown> } {
  const uid = 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d';
  for (let envCount = 1; envCount < 2000; envCount += 1) {
    const pod = buildPod(labels, envCount);
    const body = JSON.stringify(reviewFor(pod, uid));
    if (Buffer.byteLength(body) >= targetBytes) return { body, pod };
  }
  throw new Error(`cannot build a review of ${targetBytes} bytes`);
}

export function admissionPayloads(): AdmissionPayload[] {
  const small = reviewOfSize(sandboxLabels, 5.5 * 1024);
  const large = reviewOfSize(sandboxLabels, 20 * 1024);
  const plainLabels = { 'sandbox-storage.io/user': 'alice.example', 'sandbox-storage.io/thread': 'thread-7f3a9c2e' };
  const plain = reviewOfSize(plainLabels, 5.5 * 1024);
  return [
    { id: 'sandbox-5.5k', description: 'sandbox Pod, 5.5 KB review', body: small.body, pod: small.pod, sandbox: true },
    { id: 'sandbox-20k', description: 'sandbox Pod, 20 KB review', body: large.body, pod: large.pod, sandbox: true },
    { id: 'plain-5.5k', description: 'non-sandbox Pod (fast path), 5.5 KB review', body: plain.body, pod: plain.pod, sandbox: false },
  ];
}

/** The Pod to create through the API server: only what a client sends (no status, no managedFields, no defaults). */
export function podForCreate(payload: AdmissionPayload): Record<string, unknown> {
  const pod = structuredClone(payload.pod) as { metadata: Record<string, unknown>; spec: Record<string, unknown>; status?: unknown };
  delete pod.status;
  delete pod.metadata.managedFields;
  delete pod.metadata.namespace;
  return pod;
}
