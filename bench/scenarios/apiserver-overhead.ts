// Scenario 3: what the webhook adds to a Pod CREATE through a real kube-apiserver. Sequential creates of the same
// sandbox Pod with no webhook registered, with `sandbox-storage serve` registered (the shipped settings) and with
// a bare Node mutating webhook registered (same settings), interleaved in rounds on one API server in one run. A
// fourth series replays serve's answer from a bare server: the same patch, warnings and annotations, without
// serve's work, so the gap to the bare webhook splits into what serve takes to answer and what its answer costs
// the API server. The API server's own histograms (read around each block) say where in the request time goes.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as k8s from '@kubernetes/client-node';
import { createTestNamespace, startControlPlane, type ControlPlane } from '../../test/harness/controlplane.ts';
import { waitFor } from '../../test/harness/wait.ts';
import { registerMutatingWebhook, shippedMutatingWebhook, waitUntilWebhookActive } from '../../test/harness/webhook.ts';
import { admissionPayloads, podForCreate } from '../lib/admission-payloads.ts';
import { accumulate, apiServerSnapshot, emptySnapshot, meanMs, type ApiServerSnapshot } from '../lib/apiserver-metrics.ts';
import { postReview } from '../lib/probe.ts';
import { podClient, type PodClient } from '../lib/pod-client.ts';
import { runLoad } from '../load/load-client.ts';
import type { ClosedLoopResult } from '../load/load-types.ts';
import { progress } from '../lib/progress.ts';
import { startBareWebhook, startReplayWebhook, startServe, type RunningServer } from '../lib/servers.ts';
import { round, summarize, type LatencySummary } from '../lib/stats.ts';
import { comparison, target, type ScenarioResult } from '../report/results.ts';
import { reviewUid } from './admission-throughput.ts';
import type { ScenarioContext } from './context.ts';

type SeriesId = 'none' | 'sandbox-storage' | 'bare' | 'replay';
const seriesOrder: SeriesId[] = ['none', 'sandbox-storage', 'bare', 'replay'];
const seriesNames: Record<SeriesId, string> = {
  none: 'no webhook',
  'sandbox-storage': 'sandbox-storage serve',
  bare: 'bare Node webhook',
  replay: "bare Node webhook answering serve's answer",
};
const bareAnnotation = 'bench.sandbox-storage.io/bare-webhook';
const warmupCreatesPerBlock = 5;
const connections = 8;

const injectedBySandboxStorage = (pod: k8s.V1Pod) => (pod.spec?.volumes ?? []).some((volume) => volume.name.startsWith('sandbox-storage-'));
const annotatedByBare = (pod: k8s.V1Pod) => pod.metadata?.annotations?.[bareAnnotation] === 'true';

/** Admission calls the serve process logged: one line per call that reached the planning core. */
function serveCalls(serve: RunningServer): number {
  const counts = serve.process.messageCounts();
  return (counts.get('pod mutated') ?? 0) + (counts.get('pod admitted unchanged') ?? 0) + (counts.get('pod denied') ?? 0);
}

let lastCounted = 0;
/** The serve call count once at least `atLeast` more than `since` are logged (or 5 s passed). */
async function settledServeCalls(serve: RunningServer, atLeast: number, since = lastCounted): Promise<number> {
  await waitFor(() => serveCalls(serve) >= since + atLeast, { description: 'serve log lines', timeoutMs: 5_000, intervalMs: 5 }).catch(() => undefined);
  lastCounted = serveCalls(serve);
  return lastCounted;
}

export async function apiServerOverhead(context: ScenarioContext): Promise<ScenarioResult> {
  const rounds = context.smoke ? 2 : 10;
  const podsPerBlock = context.smoke ? 15 : 52;
  const pod = podForCreate(admissionPayloads().find((payload) => payload.id === 'sandbox-5.5k')!) as k8s.V1Pod;
  progress('apiserver: starting etcd and kube-apiserver (no controller manager)');
  const controlPlane: ControlPlane = await startControlPlane();
  const servers: RunningServer[] = [];
  let unregister: (() => Promise<void>) | undefined;
  let client: PodClient | undefined;
  try {
    client = await podClient(controlPlane);
    const pods = client;
    const namespace = await createTestNamespace(controlPlane, 'bench');
    // Its log goes to a file (startServe): read through a pipe, every log line would wake this process (the client
    // timing the creates) in the middle of the create.
    const serve = await startServe(context.cliPath, context.tls, { logFile: join(context.workDir, 'apiserver-serve.log') });
    servers.push(serve);
    const bare = await startBareWebhook(context.tls);
    servers.push(bare);
    // serve's answer for this Pod (the review the API server sends for it), to replay without the uid.
    const payload = admissionPayloads().find((candidate) => candidate.id === 'sandbox-5.5k')!;
    const answers = await Promise.all([serve, bare].map((server) => postReview({ host: '127.0.0.1', port: server.port, path: '/mutate', caPem: context.tls.caPem }, payload.body)));
    const [serveAnswer, bareAnswer] = answers.map((answer) => answer.review?.response as Record<string, unknown> | undefined);
    if (typeof serveAnswer?.patch !== 'string' || typeof bareAnswer?.patch !== 'string') throw new Error('serve or the bare webhook did not patch the bench Pod');
    const responseFile = join(context.workDir, 'serve-answer.json');
    writeFileSync(responseFile, JSON.stringify({ ...serveAnswer, uid: undefined }));
    const replay = await startReplayWebhook(context.tls, responseFile);
    servers.push(replay);
    // A few hundred creates per series would compare processes still compiling their request path: first, every
    // webhook server answers a closed-loop load of this review directly, so that all of them are measured warm.
    const warming = { body: payload.body, uid: reviewUid(payload), connections, warmupMs: 0, durationMs: context.smoke ? 300 : 2_000 };
    for (const server of servers) {
      progress(`apiserver: warming ${server.name} with direct reviews (not measured)`);
      const target = { host: '127.0.0.1', port: server.port, path: '/mutate', caPem: context.tls.caPem };
      const { result } = await runLoad<ClosedLoopResult, undefined>({ kind: 'closed', target, ...warming }, { onStart: () => undefined });
      if (result.errors > 0) throw new Error(`${server.name}: ${result.errors} bad answers while warming, first: ${result.firstError}`);
      if (server === serve) await settledServeCalls(serve, result.completed);
    }
    const configurations = {
      'sandbox-storage': shippedMutatingWebhook('sandbox-storage-webhook', `https://127.0.0.1:${serve.port}`, context.tls.caPem),
      bare: shippedMutatingWebhook('bench-bare-webhook', `https://127.0.0.1:${bare.port}`, context.tls.caPem),
      replay: shippedMutatingWebhook('bench-replay-webhook', `https://127.0.0.1:${replay.port}`, context.tls.caPem),
    };
    const dryRun = async () => (await pods.create(namespace, pod, { dryRun: true })).pod;

    const activate = async (series: SeriesId) => {
      if (unregister) await unregister();
      unregister = undefined;
      // Removal reaches the API server's webhook cache asynchronously: wait until no webhook is called, so that
      // serve and its replay (which mutate alike) are never both registered.
      await waitFor(async () => {
        const created = await dryRun();
        return !injectedBySandboxStorage(created) && !annotatedByBare(created);
      }, { description: 'the API server to stop calling the removed webhooks', timeoutMs: 60_000, intervalMs: 100 });
      if (series === 'none') return;
      unregister = await registerMutatingWebhook(controlPlane.kubeConfig, configurations[series]);
      await waitUntilWebhookActive(controlPlane.kubeConfig, namespace, pod, series === 'bare' ? annotatedByBare : injectedBySandboxStorage);
    };

    const samples: Record<SeriesId, number[]> = { none: [], 'sandbox-storage': [], bare: [], replay: [] };
    const inside: Record<SeriesId, ApiServerSnapshot> = { none: emptySnapshot(), 'sandbox-storage': emptySnapshot(), bare: emptySnapshot(), replay: emptySnapshot() };
    const storedBytes: Partial<Record<SeriesId, number>> = {};
    const metrics = async () => apiServerSnapshot(await pods.getText('/metrics'));
    let measuredServeCalls = 0;
    for (let roundIndex = 0; roundIndex < rounds; roundIndex += 1) {
      // Rotate the order so no series always runs first after a quiet API server.
      const order = seriesOrder.map((_, index) => seriesOrder[(index + roundIndex) % seriesOrder.length] as SeriesId);
      for (const series of order) {
        progress(`apiserver: round ${roundIndex + 1}/${rounds}, ${podsPerBlock} Pod creates, ${seriesNames[series]}`);
        await activate(series);
        for (let index = 0; index < warmupCreatesPerBlock; index += 1) await pods.create(namespace, pod);
        // Log lines arrive through a pipe: wait until every call so far is counted before starting the block.
        const callsBefore = await settledServeCalls(serve, series === 'sandbox-storage' ? warmupCreatesPerBlock : 0);
        const before = await metrics();
        for (let index = 0; index < podsPerBlock; index += 1) {
          const { pod: created, elapsedMs } = await pods.create(namespace, pod);
          samples[series].push(elapsedMs);
          if (series !== 'none' && series !== 'bare' && !injectedBySandboxStorage(created)) throw new Error('a sandbox Pod was created without its storage');
          if (series === 'bare' && !annotatedByBare(created)) throw new Error('a Pod was created without the bare webhook');
          storedBytes[series] = Buffer.byteLength(JSON.stringify(created));
        }
        accumulate(inside[series], before, await metrics());
        if (series === 'sandbox-storage') measuredServeCalls += (await settledServeCalls(serve, podsPerBlock, callsBefore)) - callsBefore;
      }
    }
    if (unregister) await unregister();
    unregister = undefined;

    const summaries = Object.fromEntries(seriesOrder.map((series) => [series, summarize(samples[series])])) as Record<SeriesId, LatencySummary>;
    const none = summaries.none;
    const ours = summaries['sandbox-storage'];
    const bareSummary = summaries.bare;
    const callsPerPod = measuredServeCalls / samples['sandbox-storage'].length;
    const replaySummary = summaries.replay;
    const formatMs = (value: number | undefined) => (value === undefined ? '–' : value.toFixed(2));
    const patchOf = (answer: Record<string, unknown> | undefined) => {
      const text = Buffer.from(String(answer?.patch ?? ''), 'base64').toString('utf8');
      return { bytes: Buffer.byteLength(text), operations: (JSON.parse(text) as unknown[]).length };
    };
    const patches = { 'sandbox-storage': patchOf(serveAnswer), bare: patchOf(bareAnswer), replay: patchOf(serveAnswer) };
    const row = (series: SeriesId) => {
      const summary = summaries[series];
      const patch = series === 'none' ? undefined : patches[series];
      return [
        seriesNames[series],
        String(summary.count),
        formatMs(summary.p50),
        formatMs(summary.p99),
        series === 'none' ? '–' : `${formatMs(summary.p50 - none.p50)}`,
        series === 'none' ? '–' : `${formatMs(summary.p99 - none.p99)}`,
        formatMs(meanMs(inside[series].request)),
        formatMs(meanMs(inside[series].webhookCall)),
        formatMs(meanMs(inside[series].mutatingAdmission)),
        formatMs(meanMs(inside[series].etcdCreate)),
        patch ? `${patch.operations} / ${patch.bytes}` : '–',
        String(storedBytes[series] ?? '–'),
      ];
    };
    return {
      id: 'apiserver',
      title: 'Overhead through the real API server',
      status: 'ok',
      durationSeconds: 0,
      targets: [
        target('median Pod CREATE overhead, sandbox-storage vs no webhook', round(ours.p50 - none.p50), 'ms', '<=', 2),
        target('p99 Pod CREATE overhead, sandbox-storage vs no webhook', round(ours.p99 - none.p99), 'ms', '<=', 10),
        target('median Pod CREATE overhead ÷ bare Node webhook overhead', round((ours.p50 - none.p50) / (bareSummary.p50 - none.p50)), '×', '<=', 1.3),
      ],
      comparisons: [
        comparison('Pod CREATE p50, sandbox-storage', round(ours.p50), round(none.p50), 'no webhook', 'ms'),
        comparison('Pod CREATE p99, sandbox-storage', round(ours.p99), round(none.p99), 'no webhook', 'ms'),
        comparison('Pod CREATE p50, sandbox-storage', round(ours.p50), round(bareSummary.p50), 'bare Node webhook', 'ms'),
        comparison('Pod CREATE p99, sandbox-storage', round(ours.p99), round(bareSummary.p99), 'bare Node webhook', 'ms'),
        comparison('Pod CREATE p50 overhead, sandbox-storage', round(ours.p50 - none.p50), round(replaySummary.p50 - none.p50), "bare Node webhook answering serve's answer", 'ms'),
      ],
      table: {
        headers: [
          'series', 'Pods', 'p50 ms', 'p99 ms', 'p50 overhead ms', 'p99 overhead ms',
          'API server: request mean ms', 'webhook call mean ms', 'mutating admission mean ms', 'etcd create mean ms', 'patch ops / bytes', 'stored Pod bytes',
        ],
        rows: seriesOrder.map(row),
      },
      notes: [
        `Sequential creates of a sandbox Pod (5.5 KB as admitted) through kube-apiserver ${'1.37'} without the controller manager (ServiceAccount admission plugin off); ${rounds} rounds, each series ${podsPerBlock} Pods per round after ${warmupCreatesPerBlock} unmeasured creates, order rotated per round. Before the rounds, each webhook server answered ${warming.durationMs / 1000} s of direct closed-loop reviews of the same Pod (${connections} connections), so that every series is measured with its request path compiled.`,
        `Webhook calls per Pod: ${round(callsPerPod, 2)} (more than 1 means the API server reinvoked it after another mutation).`,
        "API server columns: means from kube-apiserver's own histograms over the measured creates (apiserver_request_duration_seconds, apiserver_admission_webhook_admission_duration_seconds, which includes applying the patch, apiserver_admission_step_admission_duration_seconds, etcd_request_duration_seconds); the replay series answers every review with serve's answer for this Pod (same patch, warnings and audit annotations).",
      ],
      details: {
        rounds,
        podsPerBlock,
        callsPerPod: round(callsPerPod, 3),
        patches,
        storedBytes,
        apiServer: Object.fromEntries(
          seriesOrder.map((series) => [series, Object.fromEntries(Object.entries(inside[series]).map(([figure, value]) => [figure, { ...value, meanMs: round(meanMs(value) ?? 0, 3) }]))]),
        ),
        series: Object.fromEntries(
          seriesOrder.map((series) => [series, Object.fromEntries(Object.entries(summaries[series]).map(([key, value]) => [key, round(value)]))]),
        ),
      },
    };
  } finally {
    if (unregister) await unregister().catch(() => undefined);
    client?.close();
    for (const server of servers) await server.stop();
    await controlPlane.stop();
  }
}
