import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseServeConfig } from '../../src/commands/serve.ts';
import { writeServingCertificate, type ServingCertificate } from '../harness/tls.ts';

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

  it('fills documented defaults', async () => {
    const config = await parseServeConfig(['--tls-cert-file', tls.certFile, '--tls-key-file', tls.keyFile]);
    expect(config).toEqual({
      certFile: tls.certFile,
      keyFile: tls.keyFile,
      policyFiles: [],
      host: '0.0.0.0',
      port: 8443,
      kubeconfig: undefined,
      maxBodyBytes: 3 * 1024 * 1024,
      logLevel: 'info',
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
      [join(root, 'src/cli.ts'), 'serve', '--tls-cert-file', tls.certFile, '--tls-key-file', tls.keyFile, '--port', '0', '--policy', policy],
      { cwd: root, env, encoding: 'utf8' },
    );
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('a policy has a namespaceSelector, which needs namespace labels from the cluster');
  });


  it('logs JSON, becomes ready, and exits 0 on SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      [join(root, 'src/cli.ts'), 'serve', '--tls-cert-file', tls.certFile, '--tls-key-file', tls.keyFile, '--host', '127.0.0.1', '--port', '0'],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const lines: any[] = [];
      const port = await new Promise<number>((resolve, reject) => {
        createInterface({ input: child.stdout! }).on('line', (line) => {
          const entry = JSON.parse(line);
          lines.push(entry);
          if (entry.msg === 'webhook server listening') resolve(entry.port);
        });
        child.once('exit', (code) => reject(new Error(`serve exited early with ${code}`)));
      });
      const status = await new Promise<number>((resolve, reject) => {
        const ready = request({ host: '127.0.0.1', port, path: '/readyz', ca: tls.caPem, agent: false }, (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        });
        ready.on('error', reject);
        ready.end();
      });
      expect(status).toBe(200);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(lines.map((entry) => entry.msg)).toContain('policies loaded');
      expect(lines.find((entry) => entry.msg === 'policies loaded')?.policies).toEqual(['default']);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
