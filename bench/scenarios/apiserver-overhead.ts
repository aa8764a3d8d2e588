// Scenario 3: what the webhook adds to a Pod CREATE through a real kube-apiserver. Sequential creates of the same
// sandbox Pod with no webhook, with `sandbox-storage serve` (the shipped registration), with a bare Node mutating
// webhook (same registration) and with a bare server replaying serve's answer (the same patch, warnings and
// annotations without serve's work: the gap to the bare webhook splits into what serve takes to answer and what its
// answer costs the API server). Every series has its own namespace, and its webhook is registered for that namespace
// only, so consecutive creates rotate through the series: a drift of the machine's speed hits all of them alike, and
// every webhook is called as in a cluster, between other requests, not in a warm streak of its own.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as k8s from '@kubernetes/client-node';
import { createTestNamespace, startControlPlane, type ControlPlane } from '../../test/harness/controlplane.ts';
import { waitFor } from '../../test/harness/wait.ts';
import { registerMutatingWebhook, shippedMutatingWebhook, waitUntilWebhookActive } from '../../test/harness/webhook.ts';
import { admissionPayloads, podForCreate } from '../lib/admission-payloads.ts';
import { webhookCallTotals } from '../lib/apiserver-metrics.ts';
import { postReview } from '../lib/probe.ts';
import { podClient, type PodClient } from '../lib/pod-client.ts';
import { runLoad } from '../load/load-client.ts';
import type { ClosedLoopResult } from '../load/load-types.ts';
import { progress } from '../lib/progress.ts';
import { startBareWebhook, startReplayWebhook, startServe, type RunningServer } from '../lib/servers.ts';
import { median, round, summarize, type LatencySummary } from '../lib/stats.ts';
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
const connections = 8;
/** The webhook's name in each registration: kube-apiserver's webhook histogram tells the series apart by it. */
const webhookNames: Record<Exclude<SeriesId, 'none'>, string> = {
  'sandbox-storage': 'mutate.sandbox-storage.io',
  bare: 'bare.bench.sandbox-storage.io',
  replay: 'replay.bench.sandbox-storage.io',
};

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

/** The shipped registration, pointed at `url`, its webhook named `webhookName`, for Pods of `namespace` only. */
function registrationFor(series: Exclude<SeriesId, 'none'>, url: string, caPem: string, namespace: string): k8s.V1MutatingWebhookConfiguration {
  const configuration = shippedMutatingWebhook(`bench-${series}`, url, caPem);
  for (const webhook of configuration.webhooks ?? []) {
    webhook.name = webhookNames[series];
    const expressions = webhook.namespaceSelector?.matchExpressions ?? [];
    webhook.namespaceSelector = { ...webhook.namespaceSelector, matchExpressions: [...expressions, { key: 'kubernetes.io/metadata.name', operator: 'In', values: [namespace] }] };
  }
  return configuration;
}

/** Which webhook changed a created Pod: serve and its replay inject the storage, the bare webhook annotates. */
function changedBy(created: k8s.V1Pod): 'storage' | 'bare' | 'none' | 'both' {
  const storage = injectedBySandboxStorage(created);
  const bare = annotatedByBare(created);
  return storage && bare ? 'both' : storage ? 'storage' : bare ? 'bare' : 'none';
}
const expectedChange: Record<SeriesId, ReturnType<typeof changedBy>> = { none: 'none', 'sandbox-storage': 'storage', bare: 'bare', replay: 'storage' };

/** p50 overhead of `series` over no webhook, in units of the bare webhook's, over the samples in [from, to). */
function overheadRatio(samples: Record<SeriesId, number[]>, series: SeriesId, from: number, to: number): number {
  const p50 = (id: SeriesId) => median(samples[id].slice(from, to));
  const none = p50('none');
  return (p50(series) - none) / (p50('bare') - none);
}

export async function apiServerOverhead(context: ScenarioContext): Promise<ScenarioResult> {
  const creates = context.smoke ? 30 : 1_000;
  const warmupCreates = context.smoke ? 3 : 20;
  const pod = podForCreate(admissionPayloads().find((payload) => payload.id === 'sandbox-5.5k')!) as k8s.V1Pod;
  progress('apiserver: starting etcd and kube-apiserver (no controller manager)');
  const controlPlane: ControlPlane = await startControlPlane();
  const servers: RunningServer[] = [];
  const unregister: (() => Promise<void>)[] = [];
  let client: PodClient | undefined;
  try {
    client = await podClient(controlPlane);
    const pods = client;
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

    const namespaces = {} as Record<SeriesId, string>;
    for (const series of seriesOrder) namespaces[series] = await createTestNamespace(controlPlane, `bench-${series}`);
    const urls = { 'sandbox-storage': serve, bare, replay };
    for (const series of ['sandbox-storage', 'bare', 'replay'] as const) {
      progress(`apiserver: registering ${seriesNames[series]} for namespace ${namespaces[series]}`);
      const configuration = registrationFor(series, `https://127.0.0.1:${urls[series].port}`, context.tls.caPem, namespaces[series]);
      unregister.push(await registerMutatingWebhook(controlPlane.kubeConfig, configuration));
      await waitUntilWebhookActive(controlPlane.kubeConfig, namespaces[series], pod, (created) => changedBy(created) === expectedChange[series]);
    }

    const samples: Record<SeriesId, number[]> = { none: [], 'sandbox-storage': [], bare: [], replay: [] };
    const storedBytes: Partial<Record<SeriesId, number>> = {};
    const createIn = async (series: SeriesId) => {
      const { pod: created, elapsedMs } = await pods.create(namespaces[series], pod);
      const change = changedBy(created);
      if (change !== expectedChange[series]) throw new Error(`a Pod of series ${seriesNames[series]} came back changed by ${change}, expected ${expectedChange[series]}`);
      storedBytes[series] = Buffer.byteLength(JSON.stringify(created));
      return elapsedMs;
    };
    progress(`apiserver: ${warmupCreates} unmeasured creates per series`);
    for (let index = 0; index < warmupCreates; index += 1) for (const series of seriesOrder) await createIn(series);
    // Log lines arrive in batches: wait until every call so far is counted before the measured creates.
    const callsBefore = await settledServeCalls(serve, warmupCreates);
    const webhookCallsBefore = webhookCallTotals(await pods.getText('/metrics'), Object.values(webhookNames));
    for (let index = 0; index < creates; index += 1) {
      // Rotated, so that every series follows every other equally often.
      for (let offset = 0; offset < seriesOrder.length; offset += 1) {
        const series = seriesOrder[(index + offset) % seriesOrder.length] as SeriesId;
        samples[series].push(await createIn(series));
      }
      if ((index + 1) % 250 === 0) progress(`apiserver: ${index + 1}/${creates} rounds of one create per series`);
    }
    const webhookCallsAfter = webhookCallTotals(await pods.getText('/metrics'), Object.values(webhookNames));
    const measuredServeCalls = (await settledServeCalls(serve, creates, callsBefore)) - callsBefore;
    for (const remove of unregister.splice(0)) await remove();

    const summaries = Object.fromEntries(seriesOrder.map((series) => [series, summarize(samples[series])])) as Record<SeriesId, LatencySummary>;
    const none = summaries.none;
    const ours = summaries['sandbox-storage'];
    const bareSummary = summaries.bare;
    const replaySummary = summaries.replay;
    const callsPerPod = measuredServeCalls / samples['sandbox-storage'].length;
    const quarter = Math.floor(creates / 4);
    const quarters = (series: SeriesId) => [0, 1, 2, 3].map((index) => round(overheadRatio(samples, series, index * quarter, (index + 1) * quarter)));
    const webhookCallMs = (series: SeriesId) => {
      if (series === 'none') return undefined;
      const name = webhookNames[series];
      const calls = (webhookCallsAfter[name]?.count ?? 0) - (webhookCallsBefore[name]?.count ?? 0);
      return calls > 0 ? (1000 * ((webhookCallsAfter[name]?.sum ?? 0) - (webhookCallsBefore[name]?.sum ?? 0))) / calls : undefined;
    };
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
        series === 'none' ? '–' : formatMs(summary.p50 - none.p50),
        series === 'none' ? '–' : formatMs(summary.p99 - none.p99),
        series === 'none' ? '–' : series === 'bare' ? '1 (baseline)' : `${overheadRatio(samples, series, 0, creates).toFixed(2)} (${quarters(series).map((ratio) => ratio.toFixed(2)).join(', ')})`,
        formatMs(webhookCallMs(series)),
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
        headers: ['series', 'Pods', 'p50 ms', 'p99 ms', 'p50 overhead ms', 'p99 overhead ms', 'p50 overhead ÷ bare (by quarter of the run)', 'webhook call mean ms', 'patch ops / bytes', 'stored Pod bytes'],
        rows: seriesOrder.map(row),
      },
      notes: [
        `Sequential creates of a sandbox Pod (5.5 KB as admitted) through kube-apiserver ${'1.37'} without the controller manager (ServiceAccount admission plugin off). Each series has its own namespace, its webhook registered (the shipped settings) for that namespace only; ${creates} rounds of one create per series, the order rotated every round, after ${warmupCreates} unmeasured rounds. Before, each webhook server answered ${warming.durationMs / 1000} s of direct closed-loop reviews of the same Pod (${connections} connections), so that every series is measured with its request path compiled.`,
        `Webhook calls per Pod: ${round(callsPerPod, 2)} (more than 1 means the API server reinvoked it after another mutation).`,
        "The ratio column is each series' p50 overhead over its bare webhook's, for the whole run and for each quarter of it (the spread within one run). Webhook call: kube-apiserver's apiserver_admission_webhook_admission_duration_seconds for the series' webhook, which includes applying its patch. The replay series answers every review with serve's answer for this Pod (same patch, warnings and audit annotations).",
      ],
      details: {
        creates,
        warmupCreates,
        callsPerPod: round(callsPerPod, 3),
        patches,
        storedBytes,
        overheadRatioQuarters: Object.fromEntries((['sandbox-storage', 'replay'] as const).map((series) => [series, quarters(series)])),
        webhookCallMs: Object.fromEntries((['sandbox-storage', 'bare', 'replay'] as const).map((series) => [series, round(webhookCallMs(series) ?? Number.NaN)])),
        series: Object.fromEntries(
          seriesOrder.map((series) => [series, Object.fromEntries(Object.entries(summaries[series]).map(([key, value]) => [key, round(value)]))]),
        ),
      },
    };
  } finally {
    for (const remove of unregister) await remove().catch(() => undefined);
    client?.close();
    for (const server of servers) await server.stop();
    await controlPlane.stop();
  }
}
