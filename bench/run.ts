// `npm run bench [-- --smoke] [--only admission,latency,...] [--out DIR] [--cpu-prof DIR]`
// Runs the benchmark scenarios in order and writes <out>/<date>.json, <date>.md and <date>.svg (default out:
// bench/results). Every figure is set against a baseline measured in the same run; progress goes to stderr.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeServingCertificate } from '../test/harness/tls.ts';
import { buildCli } from './lib/built-cli.ts';
import { describeMachine } from './lib/machine.ts';
import { progress } from './lib/progress.ts';
import { writeReports } from './report/write.ts';
import type { BenchResults, ScenarioResult } from './report/results.ts';
import { admissionThroughput } from './scenarios/admission-throughput.ts';
import { apiServerOverhead } from './scenarios/apiserver-overhead.ts';
import type { ScenarioContext } from './scenarios/context.ts';
import { controllerScale } from './scenarios/controller.ts';
import { expressAb } from './scenarios/express-ab.ts';
import { pacedLatency } from './scenarios/paced-latency.ts';
import { seeding } from './scenarios/seeding.ts';
import { loadavg } from 'node:os';

interface Scenario {
  id: string;
  title: string;
  run: (context: ScenarioContext) => Promise<ScenarioResult>;
}

const scenarios: Scenario[] = [
  { id: 'admission', title: 'Admission throughput and CPU cost', run: admissionThroughput },
  { id: 'express', title: 'express versus a plain router', run: expressAb },
  { id: 'latency', title: 'Latency under a paced load', run: pacedLatency },
  { id: 'apiserver', title: 'Overhead through the real API server', run: apiServerOverhead },
  { id: 'controller', title: 'Controller scale', run: controllerScale },
  { id: 'seeding', title: 'Seeding a volume', run: seeding },
];

const usage = `Usage: npm run bench -- [--smoke] [--only ${scenarios.map((s) => s.id).join(',')}] [--out DIR] [--cpu-prof DIR]\n`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      smoke: { type: 'boolean', default: false },
      only: { type: 'string' },
      out: { type: 'string', default: join('bench', 'results') },
      'cpu-prof': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  const only = values.only?.split(',').map((id) => id.trim()).filter(Boolean);
  const unknown = (only ?? []).filter((id) => !scenarios.some((scenario) => scenario.id === id));
  if (unknown.length > 0) {
    process.stderr.write(`unknown scenario(s): ${unknown.join(', ')}\n${usage}`);
    return 2;
  }
  const selected = scenarios.filter((scenario) => !only || only.includes(scenario.id));
  const startedAt = new Date();
  const results: BenchResults = {
    schemaVersion: 1,
    startedAt: startedAt.toISOString(),
    mode: values.smoke ? 'smoke' : 'full',
    machine: describeMachine(),
    scenarios: [],
  };
  const workDir = mkdtempSync(join(tmpdir(), 'sandbox-storage-bench-'));
  const tls = await writeServingCertificate();
  progress('compiling the CLI as `npm run build` does (serve and the controller run the built JavaScript)');
  const cliPath = buildCli(workDir);
  const context: ScenarioContext = { smoke: values.smoke, tls, workDir, cliPath, ...(values['cpu-prof'] ? { cpuProfileDir: values['cpu-prof'] } : {}) };
  progress(`${results.mode} run of ${selected.map((scenario) => scenario.id).join(', ')} on ${results.machine.cpus} × ${results.machine.cpuModel}`);
  try {
    for (const scenario of selected) {
      progress(`${scenario.id}: starting (${scenario.title})`);
      const started = performance.now();
      let result: ScenarioResult;
      try {
        result = await scenario.run(context);
      } catch (error) {
        progress(`${scenario.id}: FAILED: ${(error as Error).stack ?? String(error)}`);
        result = {
          id: scenario.id,
          title: scenario.title,
          status: 'failed',
          reason: (error as Error).message,
          durationSeconds: 0,
          targets: [],
          comparisons: [],
          notes: [],
          details: {},
        };
      }
      result.durationSeconds = Math.round((performance.now() - started) / 100) / 10;
      results.scenarios.push(result);
      const missed = result.targets.filter((check) => !check.met).length;
      progress(
        `${scenario.id}: ${result.status}${result.reason ? ` (${result.reason})` : ''} in ${result.durationSeconds}s` +
          (result.targets.length > 0 ? `, ${result.targets.length - missed}/${result.targets.length} targets met` : ''),
      );
    }
  } finally {
    await tls.remove();
    rmSync(workDir, { recursive: true, force: true });
  }
  results.machine.loadAverageAtEnd = loadavg().map((value) => Math.round(value * 100) / 100);
  const files = writeReports(results, values.out, startedAt);
  progress(`wrote ${files.join(', ')}`);
  return results.scenarios.some((scenario) => scenario.status === 'failed') ? 1 : 0;
}

// Exit through process.exit so that every 'exit' handler stops the servers and control planes started so far.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`bench: ${signal}, stopping\n`);
    process.exit(130);
  });
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`bench: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
