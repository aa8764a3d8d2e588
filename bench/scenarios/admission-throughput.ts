// Scenario 1: admission throughput and CPU cost. Closed-loop HTTPS keep-alive load of realistic AdmissionReviews
// against `sandbox-storage serve` and, in the same run and alternating with it, against the ceiling server (a bare
// Node HTTPS server that parses the JSON and answers a fixed AdmissionReview). Server CPU is read from /proc.
import { join } from 'node:path';
import jsonPatch from 'fast-json-patch';
import { admissionPayloads, type AdmissionPayload } from '../lib/admission-payloads.ts';
import { postReview } from '../lib/probe.ts';
import { processCpuMicros } from '../lib/process-stats.ts';
import { progress } from '../lib/progress.ts';
import { startCeilingServer, startServe, type RunningServer } from '../lib/servers.ts';
import { median, round } from '../lib/stats.ts';
import type { Target } from '../load/http-connection.ts';
import { runLoad } from '../load/load-client.ts';
import type { ClosedLoopResult } from '../load/load-types.ts';
import { comparison, target, type BaselineComparison, type ScenarioResult, type TargetCheck } from '../report/results.ts';
import type { ScenarioContext } from './context.ts';

const connections = 8;
const routes = ['/mutate', '/validate'] as const;
type Route = (typeof routes)[number];

export interface LoadMeasurement {
  requestsPerSecond: number;
  cpuMicrosPerRequest: number;
  completed: number;
}

function targetOf(server: RunningServer, path: string, caPem: string): Target {
  return { host: '127.0.0.1', port: server.port, path, caPem };
}

export function reviewUid(payload: AdmissionPayload): string {
  return (JSON.parse(payload.body) as { request: { uid: string } }).request.uid;
}

export async function measure(server: RunningServer, path: string, payload: AdmissionPayload, context: ScenarioContext): Promise<LoadMeasurement> {
  const timing = context.smoke ? { warmupMs: 300, durationMs: 700 } : { warmupMs: 1_000, durationMs: 4_000 };
  const { result, startSample } = await runLoad<ClosedLoopResult, number>(
    { kind: 'closed', target: targetOf(server, path, context.tls.caPem), body: payload.body, uid: reviewUid(payload), connections, ...timing },
    { onStart: () => processCpuMicros(server.pid) },
  );
  const cpuMicros = processCpuMicros(server.pid) - startSample;
  if (result.errors > 0) throw new Error(`${server.name} ${path} ${payload.id}: ${result.errors} bad answers, first: ${result.firstError}`);
  if (result.completed === 0) throw new Error(`${server.name} ${path} ${payload.id}: no request completed`);
  return { requestsPerSecond: result.requestsPerSecond, cpuMicrosPerRequest: cpuMicros / result.completed, completed: result.completed };
}

/**
 * The product must answer as expected before its speed means anything: sandbox Pods patched, others untouched.
 * Returns, per payload, the review a validating webhook gets: the Pod after the mutating webhook's patch.
 */
async function checkMutation(serve: RunningServer, payloads: AdmissionPayload[], caPem: string): Promise<Map<string, string>> {
  const validateBodies = new Map<string, string>();
  for (const payload of payloads) {
    const answer = await postReview(targetOf(serve, '/mutate', caPem), payload.body);
    const response = answer.review?.response;
    if (answer.status !== 200 || response?.uid !== reviewUid(payload) || response.allowed !== true) {
      throw new Error(`serve /mutate ${payload.id}: unexpected answer ${answer.text.slice(0, 300)}`);
    }
    if (payload.sandbox !== (response.patch !== undefined)) {
      throw new Error(`serve /mutate ${payload.id}: expected ${payload.sandbox ? 'a patch' : 'no patch'}, got ${answer.text.slice(0, 300)}`);
    }
    const review = JSON.parse(payload.body) as { request: { object: unknown } };
    if (response.patch) {
      const operations = JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8')) as jsonPatch.Operation[];
      review.request.object = jsonPatch.applyPatch(review.request.object, operations, true, true).newDocument;
    }
    validateBodies.set(payload.id, JSON.stringify(review));
  }
  return validateBodies;
}

/** /validate must answer an AdmissionReview for the request; a denial is noted (it is measured all the same). */
async function checkValidation(serve: RunningServer, payloads: AdmissionPayload[], caPem: string): Promise<string[]> {
  const notes: string[] = [];
  for (const payload of payloads) {
    const answer = await postReview(targetOf(serve, '/validate', caPem), payload.body);
    const response = answer.review?.response;
    if (answer.status !== 200 || response?.uid !== reviewUid(payload)) {
      throw new Error(`serve /validate ${payload.id}: unexpected answer ${answer.text.slice(0, 300)}`);
    }
    if (response.allowed !== true) notes.push(`/validate denied ${payload.id} (mutated as /mutate patched it): ${response.status?.message ?? ''}`);
  }
  return notes;
}

/** `/validate` is served by newer builds; it is measured when it answers an AdmissionReview. */
async function hasRoute(serve: RunningServer, route: Route, payload: AdmissionPayload, caPem: string): Promise<boolean> {
  const answer = await postReview(targetOf(serve, route, caPem), payload.body);
  return answer.status === 200 && answer.review?.kind === 'AdmissionReview' && answer.review.response?.uid === reviewUid(payload);
}

export async function admissionThroughput(context: ScenarioContext): Promise<ScenarioResult> {
  const payloads = admissionPayloads();
  const rounds = context.smoke ? 1 : 5;
  const ceiling = await startCeilingServer(context.tls);
  const serve = await startServe(context.cliPath, context.tls, {
    logFile: join(context.workDir, 'admission-serve.log'),
    ...(context.cpuProfileDir ? { cpuProfileDir: context.cpuProfileDir } : {}),
  });
  const notes: string[] = [];
  try {
    const availableRoutes: Route[] = [];
    for (const route of routes) {
      if (await hasRoute(serve, route, payloads[0]!, context.tls.caPem)) availableRoutes.push(route);
      else notes.push(`${route}: not available in this build (the server does not answer it with an AdmissionReview); not measured`);
    }
    // A validating webhook sees the Pod after mutation: /validate is loaded with the mutated reviews.
    const validateBodies = await checkMutation(serve, payloads, context.tls.caPem);
    const validatePayloads = payloads.map((payload) => ({ ...payload, body: validateBodies.get(payload.id) as string }));
    if (availableRoutes.includes('/validate')) notes.push(...(await checkValidation(serve, validatePayloads, context.tls.caPem)));
    const bodyFor = (route: Route, payload: AdmissionPayload) =>
      route === '/validate' ? (validatePayloads.find((candidate) => candidate.id === payload.id) as AdmissionPayload) : payload;

    // One unmeasured pass over every payload and route first, so that round 1 does not pay for JIT compilation.
    progress('admission: warm-up pass (not measured)');
    for (const payload of payloads) {
      await measure(ceiling, '/mutate', payload, context);
      for (const route of availableRoutes) await measure(serve, route, bodyFor(route, payload), context);
    }

    const samples = new Map<string, { ceiling: LoadMeasurement; ours: LoadMeasurement }[]>();
    for (let round = 1; round <= rounds; round += 1) {
      for (const payload of payloads) {
        progress(`admission: round ${round}/${rounds}, ${payload.id}: ceiling server`);
        const baseline = await measure(ceiling, '/mutate', payload, context);
        for (const route of availableRoutes) {
          progress(`admission: round ${round}/${rounds}, ${payload.id}: sandbox-storage serve ${route}`);
          const ours = await measure(serve, route, bodyFor(route, payload), context);
          const key = `${payload.id} ${route}`;
          samples.set(key, [...(samples.get(key) ?? []), { ceiling: baseline, ours }]);
        }
      }
    }

    const targets: TargetCheck[] = [];
    const comparisons: BaselineComparison[] = [];
    const rows: string[][] = [];
    const details: Record<string, unknown> = { connections, rounds, payloadBytes: Object.fromEntries(payloads.map((p) => [p.id, Buffer.byteLength(p.body)])), series: {} };
    for (const payload of payloads) {
      for (const route of availableRoutes) {
        const key = `${payload.id} ${route}`;
        const series = samples.get(key) ?? [];
        // Each round pairs ours with the ceiling measured just before it; the median of the paired ratios resists noise.
        const ratio = median(series.map((sample) => sample.ours.requestsPerSecond / sample.ceiling.requestsPerSecond));
        const cpuRatio = median(series.map((sample) => sample.ours.cpuMicrosPerRequest / sample.ceiling.cpuMicrosPerRequest));
        const oursRps = median(series.map((sample) => sample.ours.requestsPerSecond));
        const ceilingRps = median(series.map((sample) => sample.ceiling.requestsPerSecond));
        const oursCpu = median(series.map((sample) => sample.ours.cpuMicrosPerRequest));
        const ceilingCpu = median(series.map((sample) => sample.ceiling.cpuMicrosPerRequest));
        (details.series as Record<string, unknown>)[key] = {
          requestsPerSecond: round(oursRps, 0),
          ceilingRequestsPerSecond: round(ceilingRps, 0),
          throughputRatio: round(ratio),
          cpuRatio: round(cpuRatio),
          cpuMicrosPerRequest: round(oursCpu, 1),
          ceilingCpuMicrosPerRequest: round(ceilingCpu, 1),
          addedCpuMicrosPerRequest: round(oursCpu - ceilingCpu, 1),
          rounds: series.map((sample) => ({
            requestsPerSecond: round(sample.ours.requestsPerSecond, 0),
            ceilingRequestsPerSecond: round(sample.ceiling.requestsPerSecond, 0),
            cpuMicrosPerRequest: round(sample.ours.cpuMicrosPerRequest, 1),
            ceilingCpuMicrosPerRequest: round(sample.ceiling.cpuMicrosPerRequest, 1),
          })),
        };
        const cpuLimit = payload.sandbox ? 250 : 100;
        // A sandbox Pod's mutation is the product's hot path: held to a tighter share of the ceiling.
        const sandboxMutation = payload.sandbox && route === '/mutate';
        const throughputFloor = sandboxMutation ? 0.5 : 0.4;
        targets.push(target(`throughput / ceiling, ${payload.id} ${route}`, round(ratio), '×', '>=', throughputFloor));
        targets.push(target(`server CPU per admission, ${payload.id} ${route}`, round(oursCpu, 1), 'µs', '<=', cpuLimit));
        if (sandboxMutation) targets.push(target(`server CPU / ceiling CPU, ${payload.id} ${route}`, round(cpuRatio), '×', '<=', 2));
        comparisons.push(comparison(`req/s, ${payload.id} ${route}`, round(oursRps, 0), round(ceilingRps, 0), 'ceiling server', 'req/s'));
        comparisons.push(comparison(`CPU µs per request, ${payload.id} ${route}`, round(oursCpu, 1), round(ceilingCpu, 1), 'ceiling server', 'µs'));
        rows.push([
          payload.description,
          route,
          oursRps.toFixed(0),
          ceilingRps.toFixed(0),
          `${ratio.toFixed(2)} (≥ ${throughputFloor.toFixed(2)})`,
          `${oursCpu.toFixed(0)} (≤ ${cpuLimit})`,
          ceilingCpu.toFixed(0),
          (oursCpu - ceilingCpu).toFixed(0),
        ]);
      }
    }
    return {
      id: 'admission',
      title: 'Admission throughput and CPU cost',
      status: 'ok',
      durationSeconds: 0,
      targets,
      comparisons,
      table: {
        headers: ['AdmissionReview', 'route', 'serve req/s', 'ceiling req/s', 'ratio to ceiling', 'serve CPU µs/req', 'ceiling CPU µs/req', 'added by the webhook µs/req'],
        rows,
      },
      notes: [
        `${connections} keep-alive HTTPS connections, closed loop; one unmeasured warm-up pass, then ${rounds} round(s), each pairing serve with the ceiling server measured just before it; the ratios (targets) are medians of the paired ratios, the absolute figures medians over rounds.`,
        ...notes,
      ],
      details,
    };
  } finally {
    await serve.stop();
    await ceiling.stop();
  }
}
