// Scenario: what express costs. The same webhook server, handlers and payload behind express (as shipped) and
// behind a plain node:https router, alternating in the same run; server CPU per request from /proc.
import { admissionPayloads } from '../lib/admission-payloads.ts';
import { progress } from '../lib/progress.ts';
import { startListenerServer } from '../lib/servers.ts';
import { median, round } from '../lib/stats.ts';
import { comparison, target, type ScenarioResult } from '../report/results.ts';
import { measure, type LoadMeasurement } from './admission-throughput.ts';
import type { ScenarioContext } from './context.ts';

export async function expressAb(context: ScenarioContext): Promise<ScenarioResult> {
  const started = Date.now();
  const payload = admissionPayloads().find((candidate) => candidate.id === 'sandbox-5.5k');
  if (!payload) throw new Error('no sandbox-5.5k payload');
  const rounds = context.smoke ? 1 : 5;
  const plain = await startListenerServer('plain', context.tls);
  const express = await startListenerServer('express', context.tls);
  const samples: { plain: LoadMeasurement; express: LoadMeasurement }[] = [];
  try {
    // One unmeasured pass each, so both are warm (JIT, TLS sessions) before the first pair.
    await measure(plain, '/mutate', payload, { ...context, smoke: true });
    await measure(express, '/mutate', payload, { ...context, smoke: true });
    for (let round = 1; round <= rounds; round += 1) {
      progress(`express A/B: round ${round}/${rounds}`);
      const baseline = await measure(plain, '/mutate', payload, context);
      samples.push({ plain: baseline, express: await measure(express, '/mutate', payload, context) });
    }
  } finally {
    await plain.stop();
    await express.stop();
  }
  const ratio = median(samples.map((sample) => sample.express.cpuMicrosPerRequest / sample.plain.cpuMicrosPerRequest));
  const plainCpu = median(samples.map((sample) => sample.plain.cpuMicrosPerRequest));
  const expressCpu = median(samples.map((sample) => sample.express.cpuMicrosPerRequest));
  return {
    id: 'express',
    title: 'express versus a plain router',
    status: 'ok',
    durationSeconds: round((Date.now() - started) / 1000, 1),
    targets: [target('express CPU / plain router CPU, sandbox-5.5k /mutate', round(ratio), '×', '<=', 1.1)],
    comparisons: [comparison('CPU µs per request, sandbox-5.5k /mutate', round(expressCpu, 1), round(plainCpu, 1), 'plain router', 'µs')],
    notes: [`${rounds} round(s), each pairing express with the plain router measured just before it; median of the paired ratios.`],
    details: { samples },
  };
}
