import { spawn, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseServeConfig } from '../../src/commands/serve.ts';
import { admissionReviewFor, sandboxPod } from '../fixtures/pods.ts';
import { writeServingCertificate, type ServingCertificate } from '../harness/tls.ts';
import { waitFor } from '../harness/wait.ts';

const root = new URL('../..', import.meta.url).pathname;
let tls: ServingCertificate;
beforeAll(async () => {
  tls = await writeServingCertificate();
});
afterAll(async () => {
  await tls?.remove();
});

describe('serve configuration', () => {
  it('reports every problem at once', async () => {
    await expect(
      parseServeConfig(['--port', '70000', '--log-level', 'loud', '--tls-key-file', '/nonexistent/key.pem', '--policy', '/nonexistent/p.yaml']),
    ).rejects.toThrow(
      [
        '--port must be 0..65535, got 70000',
        '--log-level must be one of trace, debug, info, warn, error, fatal, silent, got loud',
        '--tls-cert-file is required',
        '--tls-key-file: cannot read /nonexistent/key.pem',
        '--policy: cannot read /nonexistent/p.yaml',
      ].join('\n'),
    );
  });

  it('refuses policy files and cluster policies together', async () => {
    await expect(
      parseServeConfig(['--tls-cert-file', tls.certFile, '--tls-key-file', tls.keyFile, '--policy', tls.certFile, '--cluster-policies']),
    ).rejects.toThrow('give either --policy files or --cluster-policies, not both');
  });

  it('fills documented defaults', async () => {
    const config = await parseServeConfig(['--tls-cert-file', tls.certFile, '--tls-key-file', tls.keyFile]);
    expect(config).toEqual({
      certFile: tls.certFile,
      keyFile: tls.keyFile,
      policyFiles: [],
      clusterPolicies: false,
      writePolicyStatus: false,
      host: '0.0.0.0',
      port: 8443,
      kubeconfig: undefined,
      maxBodyBytes: 3 * 1024 * 1024,
      metricsHost: '0.0.0.0',
      reusePort: false,
      metricsPort: 9090,
      logLevel: 'info',
      ownershipKeySecret: 'sandbox-storage-ownership-key',
      ownershipKeyNamespace: process.env.POD_NAMESPACE || 'sandbox-storage-system',
    });
  });

  it('takes the ownership key Secret and the controller username from flags, and checks them', async () => {
    const base = ['--tls-cert-file', tls.certFile, '--tls-key-file', tls.keyFile];
    const config = await parseServeConfig([...base, '--ownership-key-secret', 'proof-key', '--ownership-key-namespace', 'ops', '--controller-username', 'system:serviceaccount:ops:ctl']);
    expect(config).toMatchObject({ ownershipKeySecret: 'proof-key', ownershipKeyNamespace: 'ops', controllerUsername: 'system:serviceaccount:ops:ctl' });
    await expect(parseServeConfig([...base, '--ownership-key-secret', 'Not_A_Name', '--controller-username', ' '])).rejects.toThrow(
      /--ownership-key-secret must be a Secret name, got Not_A_Name\n--controller-username must not be empty/,
    );
  });
});

describe('serve configuration with self-managed certificates', () => {
  it('needs no certificate files up front, and reports every missing or malformed setting at once', async () => {
    delete process.env.POD_NAMESPACE;
    await expect(
      parseServeConfig([
        '--self-managed-certs',
        '--tls-cert-file', '/not/yet/tls.crt',
        '--cert-validity', '90 days',
        '--ca-validity', '10d',
        '--cert-check-interval', '0s',
      ]),
    ).rejects.toThrow(
      [
        '--cert-secret is required with --self-managed-certs',
        '--namespace is required with --self-managed-certs outside a cluster (or set $POD_NAMESPACE)',
        '--cert-validity must be a duration such as 90d, 2m or 30s, got 90 days',
        '--cert-check-interval must be a duration such as 90d, 2m or 30s, got 0s',
      ].join('\n'),
    );
    await expect(
      parseServeConfig(['--self-managed-certs', '--tls-cert-file', 'a', '--tls-key-file', 'b', '--cert-secret', 's', '--namespace', 'n',
        '--ca-propagation-delay', '30s', '--cert-check-interval', '1m']),
    ).rejects.toThrow('--ca-propagation-delay must be longer than --cert-check-interval');
    await expect(
      parseServeConfig(['--self-managed-certs', '--tls-cert-file', 'a', '--tls-key-file', 'b', '--cert-secret', 's', '--namespace', 'n',
        '--ca-validity', '10d', '--cert-validity', '20d']),
    ).rejects.toThrow('--cert-validity must not exceed --ca-validity');
  });

  it('refuses lifetimes whose renewal window cannot cover the propagation delay and eight check intervals', async () => {
    const base = ['--self-managed-certs', '--tls-cert-file', 'a', '--tls-key-file', 'b', '--cert-secret', 's', '--namespace', 'n'];
    await expect(
      parseServeConfig([...base, '--ca-validity', '25s', '--cert-validity', '20s', '--ca-propagation-delay', '3s', '--cert-check-interval', '500ms']),
    ).rejects.toThrow(
      [
        '--cert-validity must be at least 21s: renewal starts with a third left, which must cover --ca-propagation-delay plus eight --cert-check-interval, got 20s',
      ].join('\n'),
    );
    await expect(
      parseServeConfig([...base, '--ca-validity', '1h', '--cert-validity', '20m', '--ca-propagation-delay', '2m', '--cert-check-interval', '1m']),
    ).rejects.toThrow(/^--cert-validity must be at least 1800s: .*, got 20m$/);
    await expect(
      parseServeConfig([...base, '--ca-validity', '20m', '--cert-validity', '20m', '--ca-propagation-delay', '2m', '--cert-check-interval', '1m']),
    ).rejects.toThrow(/^--cert-validity must be at least 1800s: .*, got 20m\n--ca-validity must be at least 1800s: .*, got 20m$/);
    // At the bound it is accepted (the integration test's forced lifetimes are above it).
    const accepted = await parseServeConfig([...base, '--ca-validity', '21s', '--cert-validity', '21s', '--ca-propagation-delay', '3s', '--cert-check-interval', '500ms']);
    expect(accepted.selfManagedCerts).toMatchObject({ caValidityMs: 21_000, leafValidityMs: 21_000, caPropagationDelayMs: 3_000, checkIntervalMs: 500 });
  });

  it('names the Service forms in the certificate, plus extra names and addresses', async () => {
    const config = await parseServeConfig([
      '--self-managed-certs',
      '--tls-cert-file', '/not/yet/tls.crt',
      '--tls-key-file', '/not/yet/tls.key',
      '--cert-secret', 'webhook-tls',
      '--namespace', 'system',
      '--service-name', 'webhook',
      '--webhook-configuration', 'webhook',
      '--cert-extra-san', '127.0.0.1',
      '--cert-extra-san', 'webhook.example',
    ]);
    expect(config.selfManagedCerts).toEqual({
      secretName: 'webhook-tls',
      namespace: 'system',
      webhookConfigurationNames: ['webhook'],
      dnsNames: ['webhook', 'webhook.system', 'webhook.system.svc', 'webhook.system.svc.cluster.local', 'webhook.example'],
      ipAddresses: ['127.0.0.1'],
      caValidityMs: 1825 * 86_400_000,
      leafValidityMs: 90 * 86_400_000,
      caPropagationDelayMs: 120_000,
      checkIntervalMs: 60_000,
    });
  });
});

describe('sandbox-storage serve (process)', () => {
  it('refuses to start when a policy needs namespace labels but there are no cluster credentials', () => {
    const policy = join(tls.directory, 'ns-policy.yaml');
    writeFileSync(
      policy,
      'apiVersion: sandbox-storage.io/v1alpha1\nkind: SandboxStoragePolicy\nmetadata: {name: p}\nspec: {namespaceSelector: {matchLabels: {a: b}}}\n',
    );
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: tls.directory };
    delete env.KUBECONFIG;
    delete env.KUBERNETES_SERVICE_HOST;
    const result = spawnSync(
      process.execPath,
      [join(root, 'src/cli.ts'), 'serve', '--tls-cert-file', tls.certFile, '--tls-key-file', tls.keyFile, '--port', '0', '--metrics-port', 'none', '--policy', policy],
      { cwd: root, env, encoding: 'utf8' },
    );
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('a policy has a namespaceSelector, which needs namespace labels from the cluster');
  });

  it('names the file, document, policy and field of every --policy file before starting, and file:line:col of syntax errors', () => {
    const invalid = join(tls.directory, 'invalid-policy.yaml');
    writeFileSync(invalid, 'apiVersion: sandbox-storage.io/v1alpha1\nkind: SandboxStoragePolicy\nmetadata: {name: a}\nspec: {workspace: {size: "0Gi"}}\n');
    const broken = join(tls.directory, 'broken-policy.yaml');
    writeFileSync(broken, 'apiVersion: sandbox-storage.io/v1alpha1\nkind: [SandboxStoragePolicy\n');
    const result = spawnSync(
      process.execPath,
      [join(root, 'src/cli.ts'), 'serve', '--tls-cert-file', tls.certFile, '--tls-key-file', tls.keyFile, '--port', '0', '--metrics-port', 'none', '--policy', invalid, '--policy', broken],
      { cwd: root, env: { ...process.env, HOME: tls.directory, KUBECONFIG: '', KUBERNETES_SERVICE_HOST: '' }, encoding: 'utf8' },
    );
    expect(result.status).toBe(2);
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe(`error: ${invalid}: document 1 (SandboxStoragePolicy "a"): spec.workspace.size: Invalid value: "0Gi": must be greater than zero`);
    expect(lines.slice(1).length).toBeGreaterThan(0);
    for (const line of lines.slice(1)) {
      expect(line.startsWith(broken)).toBe(true);
      expect(line.slice(broken.length)).toMatch(/^:\d+:\d+: /);
    }
  });


  it('logs JSON, becomes ready, serves metrics, and exits 0 on SIGTERM', async () => {
    const serve = await startServe(['--metrics-host', '127.0.0.1', '--metrics-port', '0']);
    try {
      expect((await serve.call('/readyz')).status).toBe(200);
      const mutated = JSON.parse((await serve.call('/mutate', JSON.stringify(admissionReviewFor(sandboxPod())))).text);
      expect(mutated.response.patchType).toBe('JSONPatch');
      // Alone, with ConfigMap delivery and no controller named: the Pod would stay gated, and the answer says so.
      expect(mutated.response.warnings).toEqual([expect.stringContaining('the Pod stays gated')]);
      const denied = await serve.call('/mutate', JSON.stringify(admissionReviewFor(sandboxPod({ labels: { 'sandbox-storage.io/inject': 'true' } }))));
      expect(JSON.parse(denied.text).response.allowed).toBe(false);

      const metricsPort = serve.lines.find((entry) => entry.msg === 'metrics server listening')?.port ?? 0;
      expect(metricsPort).toBeGreaterThan(0);
      const scrape = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
      expect(scrape.headers.get('content-type')).toContain('text/plain');
      const samples = parseExposition(await scrape.text());
      expect(samples.get('sandbox_storage_admission_decisions_total{webhook="mutate",policy="default",decision="mutated",reason="None"}')).toBe(1);
      expect(samples.get('sandbox_storage_admission_decisions_total{webhook="mutate",policy="default",decision="denied",reason="IdentityLabelMissing"}')).toBe(1);
      expect(samples.get('sandbox_storage_admission_duration_seconds_count{webhook="mutate",operation="CREATE",decision="mutated"}')).toBe(1);
      expect(samples.get('sandbox_storage_policies{state="ready"}')).toBe(1);
      const expiry = samples.get('sandbox_storage_certificate_expiry_timestamp_seconds') ?? 0;
      expect(expiry * 1000).toBe(new Date(new X509Certificate(await readFile(tls.certFile)).validTo).getTime());
      expect(samples.has('process_cpu_seconds_total')).toBe(true);

      expect(await serve.stop()).toBe(0);
      // Admission lines are batched; what is still buffered at SIGTERM is written before the process exits.
      expect(serve.lines.filter((entry) => entry.webhook === 'mutate').map((entry) => entry.msg)).toEqual(['pod mutated', 'pod denied']);
      expect(serve.lines.at(-1)?.msg).toBe('stopped');
      expect(serve.lines.map((entry) => entry.msg)).toContain('policies loaded');
      expect(serve.lines.find((entry) => entry.msg === 'policies loaded')?.policies).toEqual(['default']);
    } finally {
      serve.kill();
    }
  });

  it('given the username of a controller that runs apart, answers without the no-controller warning', async () => {
    const serve = await startServe(['--metrics-port', 'none', '--controller-username', 'system:serviceaccount:sandbox-storage-system:controller']);
    try {
      const mutated = JSON.parse((await serve.call('/mutate', JSON.stringify(admissionReviewFor(sandboxPod())))).text);
      expect(mutated.response.patchType).toBe('JSONPatch');
      expect(mutated.response.warnings).toBeUndefined();
      // A batched line still arrives while the process runs on, idle.
      await waitFor(() => serve.lines.some((entry) => entry.msg === 'pod mutated'), { description: 'the admission log line', timeoutMs: 15_000 });
      expect(await serve.stop()).toBe(0);
    } finally {
      serve.kill();
    }
  });
});

/** `sandbox-storage serve` as a process on a free port, with its JSON log lines collected. */
async function startServe(extraArgs: string[]) {
  const child = spawn(
    process.execPath,
    [join(root, 'src/cli.ts'), 'serve', '--tls-cert-file', tls.certFile, '--tls-key-file', tls.keyFile, '--host', '127.0.0.1', '--port', '0', ...extraArgs],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const lines: any[] = [];
  const port = await new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const entry = JSON.parse(line);
      lines.push(entry);
      if (entry.msg === 'webhook server listening') resolve(entry.port);
    });
    child.once('exit', (code) => reject(new Error(`serve exited early with ${code}`)));
  });
  const call = (path: string, body?: string) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const sent = request(
        { host: '127.0.0.1', port, path, ca: tls.caPem, agent: false, method: body ? 'POST' : 'GET', headers: body ? { 'content-type': 'application/json' } : {} },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
        },
      );
      sent.on('error', reject);
      sent.end(body);
    });
  return {
    lines,
    call,
    /** SIGTERM, then the exit code. */
    stop: () => {
      child.kill('SIGTERM');
      return exited;
    },
    kill: () => child.kill('SIGKILL'),
  };
}

/** Prometheus text exposition → `name{labels}` → value; throws on a line that is not valid exposition. */
function parseExposition(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (-?[0-9.eE+-]+|NaN|\+Inf|-Inf)$/.exec(line);
    if (!match) throw new Error(`not Prometheus exposition: ${line}`);
    samples.set(match[1] as string, Number(match[2]));
  }
  return samples;
}
