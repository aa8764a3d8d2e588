// The real test node leaves nothing on the host: no process, mount, cgroup or directory, after a normal stop() with
// a Pod running, and when the process holding the node is stopped with SIGTERM or SIGINT. Local node only.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { startRealNode } from '../harness/real-node.ts';
import { waitFor } from '../harness/wait.ts';
import { cluster } from './setup/cluster-context.ts';

const holder = fileURLToPath(new URL('./fixtures/hold-real-node.ts', import.meta.url));

function hostTraces(runDir: string, cgroupRoot: string) {
  const hierarchies = readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' '))
    .filter((fields) => fields[2] === 'cgroup' || fields[2] === 'cgroup2')
    .map((fields) => fields[1] as string);
  const processes = readdirSync('/proc')
    .filter((pid) => /^\d+$/.test(pid))
    .filter((pid) => {
      try {
        return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8')) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(runDir);
      } catch {
        return false;
      }
    });
  return {
    processes,
    mounts: readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((line) => line.includes(runDir)),
    cgroups: hierarchies.map((hierarchy) => join(hierarchy, cgroupRoot)).filter((dir) => existsSync(dir)),
    directory: existsSync(runDir),
  };
}

const nothingLeft = { processes: [], mounts: [], cgroups: [], directory: false };

/** Host state a kubelet and containerd would change if they ran outside their namespace. */
function hostState() {
  const sysctls = ['vm/overcommit_memory', 'kernel/panic', 'kernel/panic_on_oops'].map((key) => `${key}=${readFileSync(`/proc/sys/${key}`, 'utf8').trim()}`);
  const paths = ['/var/lib/kubelet', '/var/lib/containerd', '/var/lib/cni', '/run/containerd', '/var/log/pods', '/var/log/containers', '/etc/cni/net.d'];
  return { sysctls, existing: paths.filter((path) => existsSync(path)) };
}

describe.runIf(cluster.mode === 'local-node')('real node teardown', () => {
  it('stop() with a Pod running leaves no process, mount, cgroup or directory, and no host state changed', async () => {
    const hostBefore = hostState();
    const node = await startRealNode({ log: () => undefined });
    try {
      const core = node.kubeConfig.makeApiClient(k8s.CoreV1Api);
      await waitFor(async () => (await core.readNamespacedServiceAccount({ namespace: 'default', name: 'default' })) !== undefined, {
        description: 'the default ServiceAccount',
        timeoutMs: 60_000,
      });
      await core.createNamespacedPod({
        namespace: 'default',
        body: { metadata: { name: 'busy' }, spec: { containers: [{ name: 'c', image: node.images.busybox, command: ['sleep', '3600'] }] } },
      });
      await waitFor(async () => (await core.readNamespacedPod({ namespace: 'default', name: 'busy' })).status?.phase === 'Running', {
        description: 'a Pod running on the node',
        timeoutMs: 120_000,
        intervalMs: 250,
      });
      // While it runs, the node's traces are there (so the checks below can see them).
      expect(hostTraces(node.runDir, node.cgroupRoot).cgroups.length).toBeGreaterThan(0);
      expect(hostTraces(node.runDir, node.cgroupRoot).processes.length).toBeGreaterThan(0);
      // The kubelet reads the values it wants, yet the host's stay; its and containerd's paths stay in the namespace.
      expect(hostState()).toEqual(hostBefore);
    } finally {
      await node.stop();
    }
    expect(node.leftovers()).toEqual({ processes: [], mounts: [], cgroups: [], directories: [] });
    expect(hostTraces(node.runDir, node.cgroupRoot)).toEqual(nothingLeft);
    expect(hostState()).toEqual(hostBefore);
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`a ${signal} to the process holding the node leaves nothing behind`, async () => {
      const child = spawn(process.execPath, [holder], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      try {
        const started = await waitFor(() => (stdout.includes('\n') ? (JSON.parse(stdout.split('\n')[0] as string) as { runDir: string; cgroupRoot: string; controlPlaneDir: string }) : undefined), {
          description: `the node to start (stderr: ${stderr.slice(-500)})`,
          timeoutMs: 180_000,
          intervalMs: 200,
        });
        expect(hostTraces(started.runDir, started.cgroupRoot).processes.length).toBeGreaterThan(0);
        expect(existsSync(started.controlPlaneDir)).toBe(true);
        child.kill(signal);
        expect(await exited).toBe(128 + (signal === 'SIGTERM' ? 15 : 2));
        await waitFor(() => JSON.stringify(hostTraces(started.runDir, started.cgroupRoot)) === JSON.stringify(nothingLeft), {
          description: `nothing of the node left after ${signal}: ${JSON.stringify(hostTraces(started.runDir, started.cgroupRoot))}`,
          timeoutMs: 30_000,
          intervalMs: 200,
        });
        expect(existsSync(started.controlPlaneDir)).toBe(false);
      } finally {
        child.kill('SIGKILL');
      }
    });
  }
});
