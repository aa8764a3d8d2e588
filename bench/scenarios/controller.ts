// Scenario 4: controller scale. Enabled only when this build has `sandbox-storage controller`; otherwise the
// results say "controller not available in this build".
// - PVC latency: 1,000 sandbox Pods (distinct threads, so 1,000 claims) created at a fixed rate through the API
//   server with the webhook registered → time until every PVC exists, against a bare client creating the same
//   1,000 PVCs at the same rate in the same run (ratio ≤ 1.3). Per Pod, from watches: Pod CREATE → its PVC exists
//   and → its scheduling gate is removed (median, p99), next to the Pod CREATE round trip of the same Pods.
// - Memory: RSS of the controller once 10,000 sandbox Pods are in its informer cache (all their PVCs exist).
// - Cold start: process spawn → the controller's ready log line (≤ 1.5 s), next to a bare `node -e 0` start.
// What this module assumes of the controller (adjust `controllerCommand` and `readyMessage` if it differs):
// `sandbox-storage controller --kubeconfig FILE` watches Pods in all namespaces, creates the claims the webhook
// planned, and logs a JSON line whose msg matches `readyMessage` once its caches are synced.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as k8s from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { createTestNamespace, startControlPlane, type ControlPlane } from '../../test/harness/controlplane.ts';
import { waitFor } from '../../test/harness/wait.ts';
import { registerMutatingWebhook, shippedMutatingWebhook, waitUntilWebhookActive } from '../../test/harness/webhook.ts';
import { admissionPayloads, podForCreate } from '../lib/admission-payloads.ts';
import { startNodeProcess, type NodeProcess } from '../lib/node-process.ts';
import { podClient, type PodClient } from '../lib/pod-client.ts';
import { mainThreadSchedMicros, processCpuMicros, processRssBytes } from '../lib/process-stats.ts';
import { watchProvisioning } from '../lib/provisioning-watch.ts';
import { progress } from '../lib/progress.ts';
import { repositoryRoot, startServe, type RunningServer } from '../lib/servers.ts';
import { median, round, summarize } from '../lib/stats.ts';
import { comparison, target, type ScenarioResult } from '../report/results.ts';
import type { ScenarioContext } from './context.ts';

export const notAvailable = 'controller not available in this build';
const readyMessage = /\b(ready|caches? synced|started)\b/i;
const controllerCommand = (kubeconfigPath: string) => ['controller', '--kubeconfig', kubeconfigPath, '--metrics-host', '127.0.0.1', '--metrics-port', '0', '--leader-elect', 'false', '--ownership-key-namespace', 'default'];
const creationRate = 100; // Pods (and baseline PVCs) per second
const chartValues = new URL('../../deploy/helm/sandbox-storage-webhook/values.yaml', import.meta.url);

/**
 * The chart's NODE_OPTIONS (values.yaml `nodeOptions`). Passed the same way, as the environment variable, because
 * Node refuses many V8 flags there that it accepts on the command line: a flag the chart cannot ship fails here too.
 */
export function shippedNodeOptions(): string {
  const values = parseYaml(readFileSync(chartValues, 'utf8')) as { nodeOptions?: string } | null;
  return (values?.nodeOptions ?? '').trim();
}

/** True when `sandbox-storage controller --help` is a known command of the CLI at `cliPath`. */
export function controllerAvailable(cliPath: string): boolean {
  const result = spawnSync(process.execPath, [cliPath, 'controller', '--help'], { cwd: repositoryRoot, encoding: 'utf8', timeout: 30_000 });
  return result.status === 0 && !/unknown command/i.test(`${result.stdout}${result.stderr}`);
}

function skipped(reason: string): ScenarioResult {
  return { id: 'controller', title: 'Controller scale', status: 'skipped', reason, durationSeconds: 0, targets: [], comparisons: [], notes: [], details: {} };
}

function sandboxPod(template: k8s.V1Pod, index: number): k8s.V1Pod {
  const pod = structuredClone(template);
  pod.metadata!.labels = { ...pod.metadata!.labels, 'sandbox-storage.io/thread': `thread-${index}` };
  return pod;
}

function withoutKey(record: Record<string, string> | undefined, key: string): Record<string, string> | undefined {
  if (!record) return record;
  const { [key]: _dropped, ...rest } = record;
  return rest;
}

/** Count of objects in a namespaced list, from one item plus remainingItemCount (cheap to poll). */
async function countOf(client: PodClient, path: string): Promise<number> {
  const response = await client.get(`${path}?limit=1`);
  const items = (response.items as unknown[] | undefined)?.length ?? 0;
  const remaining = Number((response.metadata as { remainingItemCount?: number } | undefined)?.remainingItemCount ?? 0);
  return items + remaining;
}

/** Starts `count` operations at `rate` per second (open loop) and resolves when all have finished. */
async function paced(count: number, rate: number, operation: (index: number) => Promise<unknown>): Promise<void> {
  const started = performance.now();
  const running: Array<Promise<unknown>> = [];
  for (let index = 0; index < count; index += 1) {
    const due = started + (index * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    running.push(operation(index));
  }
  await Promise.all(running);
}

/** How the controller is started; replaceable to exercise this module against a stand-in. */
export interface ControllerLauncher {
  script: string;
  args: (kubeconfigPath: string) => string[];
  available: () => boolean;
  /** NODE_OPTIONS of the controller process. */
  nodeOptions?: string;
}

/** The controller as deployed: the built CLI with the chart's Node flags. */
const shippedController = (cliPath: string): ControllerLauncher => ({ script: cliPath, args: controllerCommand, available: () => controllerAvailable(cliPath), nodeOptions: shippedNodeOptions() });

async function startController(controlPlane: ControlPlane, launcher: ControllerLauncher, cpuProfileDir?: string): Promise<{ controller: NodeProcess; coldStartMs: number }> {
  const started = performance.now();
  // With --cpu-prof DIR the controller writes its profile there too (on exit), next to serve's.
  const profiling = cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfileDir}`, '--cpu-prof-name=controller.cpuprofile'] : [];
  const env = { ...process.env, NODE_OPTIONS: launcher.nodeOptions ?? '' };
  const controller = await startNodeProcess({ script: launcher.script, cwd: repositoryRoot, args: launcher.args(controlPlane.kubeconfigPath), nodeArgs: profiling, env, readyMessage, timeoutMs: 60_000 });
  return { controller, coldStartMs: performance.now() - started };
}

export async function controllerScale(context: ScenarioContext, launcher: ControllerLauncher = shippedController(context.cliPath)): Promise<ScenarioResult> {
  if (!launcher.available()) {
    progress(`controller: ${notAvailable}, skipped`);
    return skipped(notAvailable);
  }
  const pvcPods = context.smoke ? 50 : 1_000;
  const cachePods = context.smoke ? 200 : 10_000;
  const template = podForCreate(admissionPayloads().find((payload) => payload.id === 'sandbox-5.5k')!) as k8s.V1Pod;
  progress('controller: starting etcd and kube-apiserver');
  const controlPlane = await startControlPlane();
  let serve: RunningServer | undefined;
  let controller: NodeProcess | undefined;
  let client: PodClient | undefined;
  try {
    // Enough connections that Pods (and the baseline's PVCs) go out at the rate even while creates take long: 4
    // held the Pod creates back behind each other, so that the last one went out seconds late.
    client = await podClient(controlPlane, { maxSockets: 64 });
    const pods = client;
    serve = await startServe(context.cliPath, context.tls, { logFile: join(context.workDir, 'controller-serve.log') });
    const namespace = await createTestNamespace(controlPlane, 'bench-controller');
    const baselineNamespace = await createTestNamespace(controlPlane, 'bench-baseline');
    await registerMutatingWebhook(controlPlane.kubeConfig, shippedMutatingWebhook('sandbox-storage-webhook', `https://127.0.0.1:${serve.port}`, context.tls.caPem));
    await waitUntilWebhookActive(controlPlane.kubeConfig, namespace, template, (pod) => (pod.spec?.volumes ?? []).some((volume) => volume.name.startsWith('sandbox-storage-')));

    progress('controller: cold start');
    const nodeStartMs = median(Array.from({ length: 3 }, () => {
      const started = performance.now();
      spawnSync(process.execPath, ['-e', '0']);
      return performance.now() - started;
    }));
    const started = await startController(controlPlane, launcher, context.cpuProfileDir);
    controller = started.controller;
    const idleRss = processRssBytes(controller.pid);

    // CPU seconds of every process involved, per phase: on a shared machine the API server is what runs out.
    const cpuOf = {
      'kube-apiserver': () => processCpuMicros(controlPlane.processes.find((entry) => entry.name === 'kube-apiserver')!.pid),
      etcd: () => processCpuMicros(controlPlane.processes.find((entry) => entry.name === 'etcd')!.pid),
      controller: () => processCpuMicros(controller!.pid),
      webhook: () => processCpuMicros(serve!.pid),
    };
    const cpuSample = () => Object.fromEntries(Object.entries(cpuOf).map(([name, read]) => [name, read()]));
    const cpuSince = (before: Record<string, number>) =>
      Object.fromEntries(Object.entries(cpuSample()).map(([name, micros]) => [name, round((micros - before[name]!) / 1e6, 2)]));
    const describeCpu = (seconds: Record<string, number>) =>
      Object.entries(seconds).filter(([, value]) => value > 0).map(([name, value]) => `${name} ${value.toFixed(1)}`).join(', ');

    progress(`controller: ${pvcPods} sandbox Pods at ${creationRate}/s → time until all PVCs exist`);
    const pvcPath = (ns: string) => `/api/v1/namespaces/${ns}/persistentvolumeclaims`;
    const provisioning = await watchProvisioning(controlPlane, namespace);
    const sent: Array<{ sentAt: number; answeredAt: number; pod: string; claim: string }> = [];
    const controllerCpuBefore = cpuSample();
    const benchCpuBefore = process.cpuUsage();
    const schedBefore = mainThreadSchedMicros(controller.pid);
    const podsStarted = performance.now();
    await paced(pvcPods, creationRate, async (index) => {
      const sentAt = performance.now();
      const { pod } = await pods.create(namespace, sandboxPod(template, index));
      const claim = pod.spec?.volumes?.find((volume) => volume.persistentVolumeClaim)?.persistentVolumeClaim?.claimName ?? '';
      sent.push({ sentAt, answeredAt: performance.now(), pod: pod.metadata?.name ?? '', claim });
    });
    const podsCreatedMs = performance.now() - podsStarted;
    // Done when the watch has seen every planned PVC: no polling, which would load the API server of this phase only.
    await waitFor(
      () => {
        const failure = provisioning.failure();
        if (failure) throw failure;
        return sent.every((each) => provisioning.claimSeenAt(each.claim) !== undefined);
      },
      { description: `${pvcPods} PVCs created by the controller`, timeoutMs: 600_000, intervalMs: 50 },
    );
    const controllerMs = Math.max(...sent.map((each) => provisioning.claimSeenAt(each.claim) as number)) - podsStarted;
    const controllerPhaseCpu = cpuSince(controllerCpuBefore);
    const benchCpu = process.cpuUsage(benchCpuBefore);
    const benchPhaseCpuSeconds = round((benchCpu.user + benchCpu.system) / 1e6, 2);
    if ((await countOf(pods, pvcPath(namespace))) < pvcPods) throw new Error(`the watch saw ${pvcPods} PVCs, a list finds fewer`);
    const schedAfter = mainThreadSchedMicros(controller.pid);
    // How long the controller's event loop was runnable but waited for a CPU: the machine's share of its lateness.
    const controllerLoop = {
      runSeconds: round((schedAfter.runMicros - schedBefore.runMicros) / 1e6, 2),
      waitSeconds: round((schedAfter.waitMicros - schedBefore.waitMicros) / 1e6, 2),
    };
    await waitFor(() => sent.every((each) => provisioning.claimSeenAt(each.claim) !== undefined && provisioning.releasedAt(each.pod) !== undefined), {
      description: 'every PVC seen and every Pod released by the watches',
      timeoutMs: 600_000,
      intervalMs: 50,
    });
    await provisioning.stop();
    const roundTrip = summarize(sent.map((each) => each.answeredAt - each.sentAt));
    const toClaim = summarize(sent.map((each) => (provisioning.claimSeenAt(each.claim) as number) - each.sentAt));
    const toRelease = summarize(sent.map((each) => (provisioning.releasedAt(each.pod) as number) - each.sentAt));
    // From the CREATE's answer on: the controller's share, apart from how long the loaded API server took to admit.
    const answeredToClaim = summarize(sent.map((each) => (provisioning.claimSeenAt(each.claim) as number) - each.answeredAt));
    const lastClaimAfterLastAnswerMs = controllerMs - podsCreatedMs;

    progress(`controller: baseline, a bare client creating the same ${pvcPods} PVCs at ${creationRate}/s`);
    const claims = ((await pods.get(pvcPath(namespace))).items as k8s.V1PersistentVolumeClaim[]).map((claim) => ({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      // Without the managed-by label: the controller would otherwise take them for its own unused workspaces and
      // read each one while the baseline is being measured.
      metadata: { name: claim.metadata?.name, labels: withoutKey(claim.metadata?.labels, 'app.kubernetes.io/managed-by'), annotations: claim.metadata?.annotations },
      spec: { accessModes: claim.spec?.accessModes, resources: claim.spec?.resources, storageClassName: claim.spec?.storageClassName, volumeMode: claim.spec?.volumeMode },
    }));
    const baselineCpuBefore = cpuSample();
    const benchBaselineBefore = process.cpuUsage();
    const baselineStarted = performance.now();
    await paced(claims.length, creationRate, (index) => pods.post(pvcPath(baselineNamespace), claims[index]));
    const baselineMs = performance.now() - baselineStarted;
    const baselinePhaseCpu = cpuSince(baselineCpuBefore);
    const benchBaselineCpu = process.cpuUsage(benchBaselineBefore);
    const benchBaselineCpuSeconds = round((benchBaselineCpu.user + benchBaselineCpu.system) / 1e6, 2);

    progress(`controller: ${cachePods} more sandbox Pods for the informer cache`);
    const cacheNamespace = await createTestNamespace(controlPlane, 'bench-cache');
    const concurrency = 8;
    for (let next = 0; next < cachePods; next += concurrency) {
      await Promise.all(Array.from({ length: Math.min(concurrency, cachePods - next) }, (_, offset) => pods.create(cacheNamespace, sandboxPod(template, pvcPods + next + offset))));
      if (next % 1000 === 0) progress(`controller: ${next}/${cachePods} cache Pods created`);
    }
    await waitFor(async () => (await countOf(pods, pvcPath(cacheNamespace))) >= cachePods, {
      description: `${cachePods} PVCs created by the controller`,
      timeoutMs: 900_000,
      intervalMs: 500,
    });
    const rss = processRssBytes(controller.pid);
    const mb = (bytes: number) => bytes / 2 ** 20;
    return {
      id: 'controller',
      title: 'Controller scale',
      status: 'ok',
      durationSeconds: 0,
      targets: [
        target(`time to all ${pvcPods} PVCs ÷ bare client creating them`, round(controllerMs / baselineMs), '×', '<=', 1.3),
        target(`controller RSS with ${cachePods + pvcPods} sandbox Pods cached`, round(mb(rss), 1), 'MB', '<=', 200),
        target('controller cold start to ready', round(started.coldStartMs / 1000, 3), 's', '<=', 1.5),
      ],
      comparisons: [
        comparison(`time to all ${pvcPods} PVCs`, round(controllerMs), round(baselineMs), 'bare client, same PVCs, same rate', 'ms'),
        comparison('controller RSS', round(mb(rss), 1), round(mb(idleRss), 1), 'same controller, idle after start', 'MB'),
        comparison('cold start', round(started.coldStartMs), round(nodeStartMs), 'node -e 0', 'ms'),
        comparison('Pod CREATE → its PVC exists, median', round(toClaim.p50), round(roundTrip.p50), 'Pod CREATE round trip, median', 'ms'),
        comparison('Pod CREATE → its gate removed, p99', round(toRelease.p99), round(roundTrip.p99), 'Pod CREATE round trip, p99', 'ms'),
      ],
      table: {
        headers: ['measure', 'controller', 'same-run baseline'],
        rows: [
          [`time until ${pvcPods} PVCs exist (${creationRate} Pods/s)`, `${controllerMs.toFixed(0)} ms`, `${baselineMs.toFixed(0)} ms (bare client, ${creationRate} PVCs/s)`],
          [`RSS, ${cachePods + pvcPods} sandbox Pods cached`, `${mb(rss).toFixed(1)} MB`, `${mb(idleRss).toFixed(1)} MB (idle after start)`],
          ['cold start to ready', `${started.coldStartMs.toFixed(0)} ms`, `${nodeStartMs.toFixed(0)} ms (node -e 0)`],
          ['per Pod: CREATE → its PVC exists', `median ${toClaim.p50.toFixed(0)} ms, p99 ${toClaim.p99.toFixed(0)} ms`, `median ${roundTrip.p50.toFixed(0)} ms, p99 ${roundTrip.p99.toFixed(0)} ms (CREATE round trip)`],
          ['per Pod: CREATE → its gate removed', `median ${toRelease.p50.toFixed(0)} ms, p99 ${toRelease.p99.toFixed(0)} ms`, `median ${roundTrip.p50.toFixed(0)} ms, p99 ${roundTrip.p99.toFixed(0)} ms (CREATE round trip)`],
          ['per Pod: CREATE answered → its PVC exists', `median ${answeredToClaim.p50.toFixed(0)} ms, p99 ${answeredToClaim.p99.toFixed(0)} ms`, `last PVC ${lastClaimAfterLastAnswerMs.toFixed(0)} ms after the last CREATE was answered`],
        ],
      },
      notes: [
        `Pods created at ${creationRate}/s through the API server with the webhook registered (the last create answered after ${(podsCreatedMs / 1000).toFixed(1)} s); each PVC's time is when the bench's watch of the namespace saw it (watches the API server ended and that were resumed: ${provisioning.restarts()}).`,
        `CPU seconds while the controller made the ${pvcPods} PVCs: ${describeCpu(controllerPhaseCpu)}, this bench process ${benchPhaseCpuSeconds.toFixed(1)}; during the bare client's run: ${describeCpu(baselinePhaseCpu)}, this bench process ${benchBaselineCpuSeconds.toFixed(1)}.`,
        `In that window the controller's event loop ran ${controllerLoop.runSeconds.toFixed(1)} s and waited ${controllerLoop.waitSeconds.toFixed(1)} s for a CPU while runnable (/proc/PID/schedstat of its main thread).`,
        `The controller ran from the JavaScript built for this run (as the image runs it) with the chart's NODE_OPTIONS (values.yaml nodeOptions): ${launcher.nodeOptions || 'none'}.`,
      ],
      details: {
        pvcPods,
        cachePods,
        creationRate,
        controllerMs: round(controllerMs),
        podsCreatedMs: round(podsCreatedMs),
        baselineMs: round(baselineMs),
        controllerPhaseCpuSeconds: controllerPhaseCpu,
        benchPhaseCpuSeconds,
        benchBaselineCpuSeconds,
        controllerLoopSeconds: controllerLoop,
        baselinePhaseCpuSeconds: baselinePhaseCpu,
        rssBytes: rss,
        idleRssBytes: idleRss,
        coldStartMs: round(started.coldStartMs),
        perPodMs: { createRoundTrip: roundTrip, toClaim, toRelease, answeredToClaim },
        lastClaimAfterLastAnswerMs: round(lastClaimAfterLastAnswerMs),
        nodeStartMs: round(nodeStartMs),
      },
    };
  } finally {
    await controller?.stop();
    client?.close();
    await serve?.stop();
    await controlPlane.stop();
  }
}
