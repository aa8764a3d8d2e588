// The Helm chart: lint, render, install.yaml in sync, the mutating webhook identical to deploy/manifests, and every
// rendered variant accepted by a real API server (default for real; cert-manager, existing Secret and controller
// variants with --dry-run=server).
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { parsePolicies } from '../../src/policy/load.ts';
import { generatedCrd, renderInstallManifest } from '../../scripts/render-install.ts';
import { startControlPlane, type ControlPlane } from '../harness/controlplane.ts';
import { chartCrd, chartDirectory, helm, installManifest, release, renderChart } from '../harness/helm.ts';
import { waitFor } from '../harness/wait.ts';

type Manifest = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> }; [key: string]: any };

const shippedWebhookFile = new URL('../../deploy/manifests/mutating-webhook.yaml', import.meta.url);
const shippedValidatingWebhookFile = new URL('../../deploy/manifests/validating-webhook.yaml', import.meta.url);
const certManagerValues = ['--set', 'certificates.mode=cert-manager', '--set', 'validatingWebhook.enabled=true'];
const existingSecretValues = [
  '--set', 'certificates.mode=existing-secret',
  '--set', 'certificates.existingSecret.name=my-webhook-tls',
  '--set', `certificates.existingSecret.caBundle=${Buffer.from('not checked by the chart').toString('base64')}`,
];
const controllerValues = ['--set', 'controller.enabled=true', '--set', 'validatingWebhook.enabled=true', '--set', 'examplePolicy.enabled=true'];
const policyFileValues = ['--set', 'policySource=files', '--set', 'examplePolicy.enabled=true'];

function documents(yamlText: string): Manifest[] {
  return parseAllDocuments(yamlText)
    .map((document) => document.toJSON() as Manifest | null)
    .filter((document): document is Manifest => document !== null);
}

function find(objects: Manifest[], kind: string, name?: string): Manifest {
  const found = objects.find((object) => object.kind === kind && (name === undefined || object.metadata.name === name));
  if (!found) throw new Error(`no ${kind} ${name ?? ''} rendered`);
  return found;
}

/** Minimal cert-manager CRDs: the API server then checks everything about the objects except cert-manager's schema. */
const certManagerCrds = ['Issuer', 'Certificate']
  .map(
    (kind) => `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: ${kind.toLowerCase()}s.cert-manager.io
spec:
  group: cert-manager.io
  scope: Namespaced
  names: { kind: ${kind}, listKind: ${kind}List, plural: ${kind.toLowerCase()}s, singular: ${kind.toLowerCase()} }
  versions:
    - name: v1
      served: true
      storage: true
      schema: { openAPIV3Schema: { type: object, x-kubernetes-preserve-unknown-fields: true } }
`,
  )
  .join('---\n');

let controlPlane: ControlPlane;

beforeAll(async () => {
  controlPlane = await startControlPlane();
});

afterAll(async () => {
  await controlPlane?.stop();
});

describe('helm chart', () => {
  it('lints cleanly with every certificate mode', async () => {
    for (const values of [[], certManagerValues, existingSecretValues, controllerValues, policyFileValues]) {
      const result = await helm(['lint', '--strict', chartDirectory, ...values]);
      expect(result.stdout + result.stderr, `helm lint ${values.join(' ')}`).toContain('0 chart(s) failed');
      expect(result.code).toBe(0);
    }
  });

  it('keeps deploy/install.yaml equal to a fresh rendering and the chart CRD equal to the generated one (npm run render:install)', async () => {
    expect(readFileSync(installManifest, 'utf8')).toBe(await renderInstallManifest());
    expect(readFileSync(chartCrd, 'utf8')).toBe(readFileSync(generatedCrd, 'utf8'));
  });

  it('renders the mutating webhook exactly as deploy/manifests/mutating-webhook.yaml ships it', async () => {
    const shipped = parseYaml(readFileSync(shippedWebhookFile, 'utf8')) as Manifest;
    const rendered = find(documents(await renderChart()), 'MutatingWebhookConfiguration');
    expect(rendered.apiVersion).toBe(shipped.apiVersion);
    expect(rendered.metadata.name).toBe(shipped.metadata.name);
    expect(rendered.metadata.labels).toEqual(expect.objectContaining(shipped.metadata.labels));
    expect(rendered.webhooks).toEqual(shipped.webhooks);
  });

  it('renders the validating webhook exactly as deploy/manifests/validating-webhook.yaml ships it', async () => {
    const shipped = parseYaml(readFileSync(shippedValidatingWebhookFile, 'utf8')) as Manifest;
    const rendered = find(documents(await renderChart()), 'ValidatingWebhookConfiguration');
    expect(rendered.metadata.name).toBe(shipped.metadata.name);
    expect(rendered.webhooks).toEqual(shipped.webhooks);
  });

  it('refuses values outside the schema and incomplete certificate settings', async () => {
    const bad = await helm(['template', release.name, chartDirectory, '--set', 'replicaCount=0', '--set', 'certificates.mode=vault']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('replicaCount');
    expect(bad.stderr).toContain('certificates/mode');
    const incomplete = await helm(['template', release.name, chartDirectory, '--set', 'certificates.mode=existing-secret']);
    expect(incomplete.code).not.toBe(0);
    expect(incomplete.stderr).toContain('certificates.existingSecret');
  });

  it('renders a hardened Deployment', async () => {
    const deployment = find(documents(await renderChart()), 'Deployment');
    const pod = deployment.spec.template.spec;
    const container = pod.containers[0];
    expect(deployment.spec.replicas).toBe(2);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(container.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(container.resources.requests).toHaveProperty('cpu');
    expect(container.resources.limits ?? {}).not.toHaveProperty('cpu');
    expect(container.livenessProbe.httpGet.path).toBe('/healthz');
    expect(container.readinessProbe.httpGet.path).toBe('/readyz');
    expect(pod.topologySpreadConstraints.length).toBeGreaterThan(0);
    expect(container.args[0]).toBe('run');
    expect(container.args).toContain('--self-managed-certs');
  });

  it('is accepted by the API server: the default install for real, the other variants with --dry-run=server', async () => {
    const applied = await controlPlane.kubectl(['apply', '--server-side', '-f', installManifest]);
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    const objects = documents(readFileSync(installManifest, 'utf8'));
    expect(applied.stdout.trim().split('\n')).toHaveLength(objects.length);
    for (const object of objects) {
      const found = await controlPlane.kubectl(['get', object.kind, object.metadata.name, ...(object.metadata.namespace ? ['-n', object.metadata.namespace] : []), '-o', 'name']);
      expect(found.code, `${object.kind}/${object.metadata.name}: ${found.stderr}`).toBe(0);
    }

    // The namespace enforces the restricted Pod Security profile: the webhook's own Pod must pass it.
    const deployment = find(objects, 'Deployment');
    const podAsApiServerSeesIt = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { generateName: 'webhook-', namespace: deployment.metadata.namespace, labels: deployment.spec.template.metadata.labels },
      spec: deployment.spec.template.spec,
    };
    const podDryRun = await controlPlane.kubectl(['create', '--dry-run=server', '-o', 'name', '-f', '-'], { input: JSON.stringify(podAsApiServerSeesIt) });
    expect(podDryRun.stderr).toBe('');
    expect(podDryRun.code).toBe(0);
    const privileged = structuredClone(podAsApiServerSeesIt);
    privileged.spec.containers[0].securityContext = { privileged: true };
    const refused = await controlPlane.kubectl(['create', '--dry-run=server', '-f', '-'], { input: JSON.stringify(privileged) });
    expect(refused.stderr).toContain('violates PodSecurity "restricted');

    const crds = await controlPlane.kubectl(['apply', '--server-side', '-f', '-'], { input: certManagerCrds });
    expect(crds.code, crds.stderr).toBe(0);
    await waitFor(async () => (await controlPlane.kubectl(['get', 'certificates.cert-manager.io,sandboxstoragepolicies', '-A'])).code === 0, {
      description: 'the cert-manager and SandboxStoragePolicy CRDs to be served',
      timeoutMs: 30_000,
    });
    // The controller variant carries the example policy as an object: the installed CRD's schema checks it.
    for (const values of [certManagerValues, existingSecretValues, controllerValues, policyFileValues]) {
      const rendered = await renderChart(values);
      const dryRun = await controlPlane.kubectl(['apply', '--server-side', '--force-conflicts', '--dry-run=server', '-f', '-'], { input: rendered });
      expect(dryRun.stderr, values.join(' ')).toBe('');
      expect(dryRun.code).toBe(0);
      expect(dryRun.stdout.trim().split('\n')).toHaveLength(documents(rendered).length);
    }
  });

  it('helm install and uninstall against the API server: objects removed, CRD and policies kept', async () => {
    const kubeconfig = `--kubeconfig=${controlPlane.kubeconfigPath}`;
    const installed = await helm(['install', 'ssw-helm', chartDirectory, '--namespace', 'ssw-helm', '--create-namespace', kubeconfig]);
    expect(installed.stderr).toBe('');
    expect(installed.code).toBe(0);
    expect(installed.stdout).toContain('STATUS: deployed');
    expect((await controlPlane.kubectl(['get', 'clusterrole', 'ssw-helm'])).code).toBe(0);
    expect((await controlPlane.kubectl(['-n', 'ssw-helm', 'get', 'deployment', 'ssw-helm'])).code).toBe(0);
    const policy = await controlPlane.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({ apiVersion: 'sandbox-storage.io/v1alpha1', kind: 'SandboxStoragePolicy', metadata: { name: 'kept' }, spec: { mode: 'workspace' } }),
    });
    expect(policy.code, policy.stderr).toBe(0);

    const uninstalled = await helm(['uninstall', 'ssw-helm', '--namespace', 'ssw-helm', '--wait', kubeconfig]);
    expect(uninstalled.code, uninstalled.stderr).toBe(0);
    for (const gone of [['get', 'clusterrole', 'ssw-helm'], ['get', 'mutatingwebhookconfiguration', 'ssw-helm'], ['-n', 'ssw-helm', 'get', 'deployment', 'ssw-helm']]) {
      const result = await controlPlane.kubectl(gone);
      expect(result.stderr, gone.join(' ')).toContain('NotFound');
    }
    expect((await controlPlane.kubectl(['get', 'crd', 'sandboxstoragepolicies.sandbox-storage.io'])).code).toBe(0);
    expect((await controlPlane.kubectl(['get', 'sandboxstoragepolicy', 'kept'])).code).toBe(0);
  });

  it('wires cert-manager: serving Certificate for the Service, its Secret mounted, CA injected into both webhooks', async () => {
    const objects = documents(await renderChart(certManagerValues));
    const { name, namespace } = release;
    const certificate = find(objects, 'Certificate', `${name}-serving`);
    expect(certificate.spec.dnsNames).toContain(`${name}.${namespace}.svc`);
    expect(certificate.spec.issuerRef).toEqual({ name: `${name}-ca`, kind: 'Issuer', group: 'cert-manager.io' });
    expect(find(objects, 'Certificate', `${name}-ca`).spec.isCA).toBe(true);
    expect(find(objects, 'Issuer', `${name}-selfsigned`).spec).toEqual({ selfSigned: {} });
    const deployment = find(objects, 'Deployment');
    const tlsVolume = deployment.spec.template.spec.volumes.find((volume: any) => volume.name === 'tls');
    expect(tlsVolume.secret.secretName).toBe(certificate.spec.secretName);
    expect(deployment.spec.template.spec.containers[0].args).not.toContain('--self-managed-certs');
    for (const kind of ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']) {
      expect(find(objects, kind).metadata.annotations).toEqual({ 'cert-manager.io/inject-ca-from': `${namespace}/${name}-serving` });
    }
    // Self-managed rights are not granted when cert-manager manages the certificate: the Role holds only the
    // ownership key Secret (create, and get by name only), the Lease and the controller's preparation Pods.
    const roleRules = objects
      .filter((object) => object.kind === 'Role')
      .flatMap((role) => role.rules as Array<{ resources: string[]; verbs: string[]; resourceNames?: string[] }>);
    expect(roleRules.flatMap((rule) => rule.resources)).toEqual(['secrets', 'secrets', 'leases', 'leases', 'pods']);
    expect(roleRules.filter((rule) => rule.resources.includes('secrets'))).toEqual([
      { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
      { apiGroups: [''], resources: ['secrets'], resourceNames: [`${name}-ownership-key`], verbs: ['get'] },
    ]);
    expect(deployment.spec.template.spec.containers[0].args).toContain(`--ownership-key-secret=${name}-ownership-key`);
  });

  it('runs on the node network for single-node clusters without a Pod network (hostNetwork=true)', async () => {
    const objects = documents(await renderChart(['--set', 'hostNetwork=true']));
    const pod = find(objects, 'Deployment').spec.template.spec;
    const container = pod.containers[0];
    expect([pod.hostNetwork, pod.dnsPolicy]).toEqual([true, 'ClusterFirstWithHostNet']);
    // No declared ports: each would become a hostPort, and the scheduler's NodePorts filter would refuse replica two.
    expect(container.ports).toBeUndefined();
    expect(container.args).toEqual(expect.arrayContaining(['--host=$(HOST_IP)', '--metrics-host=$(HOST_IP)', '--reuse-port', '--port=8443']));
    expect(container.args).not.toContain('--host=0.0.0.0');
    expect(container.env).toContainEqual({ name: 'HOST_IP', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } });
    for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) expect(container[probe].httpGet.port).toBe(8443);
    expect(find(objects, 'Service').spec.ports.map((port: { targetPort: unknown }) => port.targetPort)).toEqual([8443, 9090]);
    // The default stays on the Pod network, with named ports.
    const byDefault = find(documents(await renderChart()), 'Deployment').spec.template.spec;
    expect(byDefault.hostNetwork).toBeUndefined();
    expect(byDefault.containers[0].ports.map((port: { name: string }) => port.name)).toEqual(['https', 'metrics']);
    // A namespace the chart creates must admit such Pods: hostNetwork is outside restricted and baseline.
    const namespace = find(documents(await renderChart(['--set', 'hostNetwork=true', '--set', 'namespace.create=true'])), 'Namespace');
    expect(namespace.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('privileged');
    // kube-system: no Pod Security label, and excluded from the webhooks this file installs.
    const dryRun = await controlPlane.kubectl(['create', '--dry-run=server', '-o', 'name', '-f', '-'], {
      input: JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { generateName: 'webhook-', namespace: 'kube-system' }, spec: pod }),
    });
    expect(dryRun.stderr).toBe('');
    expect(dryRun.code).toBe(0);
  });

  it('wires the controller when enabled: `run`, and the verbs it needs', async () => {
    const objects = documents(await renderChart(controllerValues));
    expect(find(objects, 'Deployment').spec.template.spec.containers[0].args[0]).toBe('run');
    const clusterRules = find(objects, 'ClusterRole').rules as Array<{ resources: string[]; verbs: string[] }>;
    const verbsFor = (resource: string) => clusterRules.filter((rule) => rule.resources.includes(resource)).flatMap((rule) => rule.verbs).sort();
    expect(verbsFor('pods')).toEqual(['get', 'list', 'patch', 'watch']);
    expect(verbsFor('persistentvolumeclaims')).toEqual(['create', 'delete', 'get', 'list', 'patch', 'watch']);
    expect(verbsFor('events')).toEqual(['create', 'list', 'patch']);
    expect(verbsFor('sandboxstoragepolicies')).toEqual(['get', 'list', 'watch']);
    expect(verbsFor('sandboxstoragepolicies/status')).toEqual(['get', 'patch', 'update']);
    const roleRules = find(objects, 'Role').rules as Array<{ resources: string[]; verbs: string[] }>;
    expect(roleRules.filter((rule) => rule.resources.includes('leases')).flatMap((rule) => rule.verbs).sort()).toEqual(['create', 'get', 'update']);
    // Directory preparation: Pods in its own namespace only, of the chart's own image.
    expect(roleRules.filter((rule) => rule.resources.includes('pods')).flatMap((rule) => rule.verbs).sort()).toEqual(['create', 'delete', 'get', 'list', 'watch']);
    const args = find(objects, 'Deployment').spec.template.spec.containers[0].args as string[];
    expect(args).toContain(`--preparation-image=${find(objects, 'Deployment').spec.template.spec.containers[0].image}`);
    expect(find(objects, 'SandboxStoragePolicy', 'example-shared-home').spec.mode).toBe('shared');
  });

  it('serves cluster policies by default, and policy files from a ConfigMap on request', async () => {
    const byDefault = documents(await renderChart());
    expect(find(byDefault, 'Deployment').spec.template.spec.containers[0].args).toEqual(
      expect.arrayContaining(['--cluster-policies', '--write-policy-status']),
    );
    const clusterRules = find(byDefault, 'ClusterRole').rules as Array<{ resources: string[]; verbs: string[] }>;
    expect(clusterRules.find((rule) => rule.resources.includes('sandboxstoragepolicies/status'))?.verbs).toEqual(['get', 'patch', 'update']);
    const fromFiles = documents(await renderChart(policyFileValues));
    const args = find(fromFiles, 'Deployment').spec.template.spec.containers[0].args as string[];
    expect(args).toContain('--policy=/etc/sandbox-storage/policies/policies.yaml');
    expect(args).not.toContain('--cluster-policies');
    expect(fromFiles.filter((object) => object.kind === 'SandboxStoragePolicy')).toEqual([]);
    const policies = find(fromFiles, 'ConfigMap').data['policies.yaml'] as string;
    // The same loader the server uses with --policy accepts them.
    expect(parsePolicies(policies, 'chart ConfigMap').map((policy) => policy.name)).toEqual(['example-shared-home']);
    // Without policy objects or files, the RBAC for policy objects is not granted.
    const rules = find(fromFiles, 'ClusterRole').rules as Array<{ resources: string[] }>;
    expect(rules.some((rule) => rule.resources.includes('sandboxstoragepolicies'))).toBe(false);
  });
});
