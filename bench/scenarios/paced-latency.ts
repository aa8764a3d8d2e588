// Scenario 2: latency under a paced load. 1,000 sandbox-Pod admissions per second, open loop, latency counted from
// each request's intended send time (a stall is charged to every request queued behind it), against the ceiling
// server and `sandbox-storage serve` in the same run.
import { join } from 'node:path';
import { admissionPayloads } from '../lib/admission-payloads.ts';
import { processCpuMicros } from '../lib/process-stats.ts';
import { progress } from '../lib/progress.ts';
import { startCeilingServer, startServe, type RunningServer } from '../lib/servers.ts';
import { round, summarize, type LatencySummary } from '../lib/stats.ts';
import { runLoad } from '../load/load-client.ts';
import type { PacedResult } from '../load/load-types.ts';
import { comparison, target, type ScenarioResult } from '../report/results.ts';
import { reviewUid } from './admission-throughput.ts';
import type { ScenarioContext } from './context.ts';

const ratePerSecond = 1_000;
const connections = 16;

interface PacedMeasurement {
  latency: LatencySummary;
  cpuMicrosPerRequest: number;
  maxQueue: number;
}

async function paced(server: RunningServer, context: ScenarioContext, body: string, uid: string): Promise<PacedMeasurement> {
  const timing = context.smoke ? { warmupMs: 500, durationMs: 2_000 } : { warmupMs: 2_000, durationMs: 30_000 };
  const { result, startSample } = await runLoad<PacedResult, number>(
    { kind: 'paced', target: { host: '127.0.0.1', port: server.port, path: '/mutate', caPem: context.tls.caPem }, body, uid, connections, ratePerSecond, ...timing },
    { onStart: () => processCpuMicros(server.pid) },
  );
  const cpuMicros = processCpuMicros(server.pid) - startSample;
  if (result.errors > 0) throw new Error(`${server.name}: ${result.errors} bad answers under paced load, first: ${result.firstError}`);
  const latency = summarize(result.latenciesMs);
  return { latency, cpuMicrosPerRequest: cpuMicros / latency.count, maxQueue: result.maxQueue };
}

const formatMs = (value: number) => value.toFixed(value >= 10 ? 1 : 2);

export async function pacedLatency(context: ScenarioContext): Promise<ScenarioResult> {
  const payload = admissionPayloads().find((candidate) => candidate.id === 'sandbox-5.5k')!;
  const uid = reviewUid(payload);
  const seconds = context.smoke ? 2 : 30;
  const ceiling = await startCeilingServer(context.tls);
  let baseline: PacedMeasurement;
  try {
    progress(`latency: ceiling server, ${ratePerSecond} req/s for ${seconds}s`);
    baseline = await paced(ceiling, context, payload.body, uid);
  } finally {
    await ceiling.stop();
  }
  const serve = await startServe(context.cliPath, context.tls, {
    logFile: join(context.workDir, 'latency-serve.log'),
    ...(context.cpuProfileDir ? { cpuProfileDir: context.cpuProfileDir } : {}),
  });
  let ours: PacedMeasurement;
  try {
    progress(`latency: sandbox-storage serve, ${ratePerSecond} req/s for ${seconds}s`);
    ours = await paced(serve, context, payload.body, uid);
  } finally {
    await serve.stop();
  }
  const row = (name: string, measured: PacedMeasurement) => [
    name,
    String(measured.latency.count),
    formatMs(measured.latency.p50),
    formatMs(measured.latency.p99),
    formatMs(measured.latency.p999),
    formatMs(measured.latency.max),
    measured.cpuMicrosPerRequest.toFixed(0),
  ];
  const rounded = (summary: LatencySummary) => Object.fromEntries(Object.entries(summary).map(([key, value]) => [key, round(value)]));
  return {
    id: 'latency',
    title: 'Latency under a paced load',
    status: 'ok',
    durationSeconds: 0,
    targets: [target('p99 latency at 1,000 req/s, sandbox-5.5k /mutate', round(ours.latency.p99), 'ms', '<=', 5)],
    comparisons: (['p50', 'p99', 'p999', 'max'] as const).map((key) =>
      comparison(`${key === 'p999' ? 'p99.9' : key} latency at 1,000 req/s`, round(ours.latency[key]), round(baseline.latency[key]), 'ceiling server', 'ms'),
    ),
    table: {
      headers: ['server', 'requests', 'p50 ms', 'p99 ms', 'p99.9 ms', 'max ms', 'CPU µs/req'],
      rows: [row('sandbox-storage serve', ours), row('ceiling server', baseline)],
    },
    notes: [
      ...(baseline.latency.p99 > 5
        ? [
            `The ceiling server itself had a p99 of ${formatMs(baseline.latency.p99)} ms at this rate: the machine could not sustain ${ratePerSecond} req/s through any Node HTTPS server during this run, so these latencies describe the machine's load more than the webhook.`,
          ]
        : []),
      `Open loop at ${ratePerSecond} req/s for ${seconds} s after a warm-up, ${connections} keep-alive connections, 5.5 KB sandbox Pod; latency from the intended send time (coordinated-omission-safe).`,
    ],
    details: {
      ratePerSecond,
      seconds,
      connections,
      serve: { ...rounded(ours.latency), cpuMicrosPerRequest: round(ours.cpuMicrosPerRequest, 1), maxQueued: ours.maxQueue },
      ceiling: { ...rounded(baseline.latency), cpuMicrosPerRequest: round(baseline.cpuMicrosPerRequest, 1), maxQueued: baseline.maxQueue },
    },
  };
}
