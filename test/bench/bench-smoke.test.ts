// `npm run bench -- --smoke`: the whole benchmark suite on a short clock. Checks that the results file has every
// scenario, with figures that make sense (finite, ordered, baselines measured), and that the reports are written.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BenchResults, ScenarioResult } from '../../bench/report/results.ts';

const outDir = mkdtempSync(join(tmpdir(), 'sandbox-storage-bench-smoke-'));
let exitCode: number | null;
let stderr = '';
let results: BenchResults;
let markdown: string;
let chart: string;

function runBench(): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', '--silent', 'bench', '--', '--smoke', '--out', outDir], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    child.once('error', reject);
    child.once('exit', (code) => resolve(code));
  });
}

beforeAll(async () => {
  exitCode = await runBench();
  const files = readdirSync(outDir);
  const base = files.find((file) => file.endsWith('.json'))?.replace(/\.json$/, '');
  if (!base) throw new Error(`no results file in ${outDir}; bench stderr:\n${stderr}`);
  results = JSON.parse(readFileSync(join(outDir, `${base}.json`), 'utf8')) as BenchResults;
  markdown = readFileSync(join(outDir, `${base}.md`), 'utf8');
  chart = readFileSync(join(outDir, `${base}.svg`), 'utf8');
}, 420_000);

afterAll(() => rmSync(outDir, { recursive: true, force: true }));

const scenario = (id: string): ScenarioResult => {
  const found = results.scenarios.find((entry) => entry.id === id);
  if (!found) throw new Error(`scenario ${id} missing`);
  return found;
};

describe('npm run bench -- --smoke', () => {
  it('exits 0 and reports progress on stderr', () => {
    expect(exitCode, stderr).toBe(0);
    expect(stderr).toContain('[bench');
    expect(results.mode).toBe('smoke');
  });

  it('has every scenario, each measured (this build has the controller)', () => {
    const ids = ['admission', 'express', 'latency', 'apiserver', 'controller', 'seeding'];
    expect(results.scenarios.map((entry) => entry.id)).toEqual(ids);
    for (const id of ids) expect(scenario(id).status, scenario(id).reason).toBe('ok');
  });

  it('every target and comparison holds a finite number, and every baseline was measured', () => {
    for (const entry of results.scenarios.filter((candidate) => candidate.status === 'ok')) {
      expect(entry.targets.length, entry.id).toBeGreaterThan(0);
      expect(entry.comparisons.length, entry.id).toBeGreaterThan(0);
      for (const check of entry.targets) {
        expect(Number.isFinite(check.value), `${entry.id}: ${check.name}`).toBe(true);
        expect(check.met).toBe(check.comparison === '<=' ? check.value <= check.limit : check.value >= check.limit);
      }
      for (const pair of entry.comparisons) {
        expect(pair.baseline, `${entry.id}: ${pair.name}`).toBeGreaterThan(0);
        expect(pair.ours, `${entry.id}: ${pair.name}`).toBeGreaterThan(0);
        expect(pair.ratio).toBeCloseTo(pair.ours / pair.baseline, 6);
      }
    }
  });

  it('admission: three payloads on /mutate and /validate, throughput ratios and CPU costs in a plausible range', () => {
    const admission = scenario('admission');
    const ratios = admission.targets.filter((check) => check.name.startsWith('throughput / ceiling'));
    const cpu = admission.targets.filter((check) => check.name.startsWith('server CPU per admission'));
    for (const payload of ['sandbox-5.5k', 'sandbox-20k', 'plain-5.5k']) {
      expect(ratios.some((check) => check.name.includes(`${payload} /mutate`)), payload).toBe(true);
    }
    // Sanity, not speed: a busy machine moves these figures by any factor, so only their sign is checked here.
    for (const check of [...ratios, ...cpu]) expect(check.value, check.name).toBeGreaterThan(0);
    // serve answers /validate: it is measured for every payload, not reported as missing.
    expect(admission.notes.some((note) => note.startsWith('/validate: not available'))).toBe(false);
    for (const payload of ['sandbox-5.5k', 'sandbox-20k', 'plain-5.5k']) {
      expect(ratios.some((check) => check.name.includes(`${payload} /validate`)), payload).toBe(true);
    }
  });

  it('latency: percentiles are ordered and the paced run completed every request', () => {
    const details = scenario('latency').details as { serve: Record<string, number>; ceiling: Record<string, number>; seconds: number; ratePerSecond: number };
    for (const series of [details.serve, details.ceiling]) {
      expect(series.count).toBe(details.seconds * details.ratePerSecond);
      expect(series.p50).toBeGreaterThan(0);
      expect(series.p50).toBeLessThanOrEqual(series.p99!);
      expect(series.p99).toBeLessThanOrEqual(series.p999!);
      expect(series.p999).toBeLessThanOrEqual(series.max!);
    }
  });

  it('apiserver: 30 Pods per series, and the webhook was called for every sandbox Pod', () => {
    const details = scenario('apiserver').details as {
      series: Record<string, { count: number; p50: number; p99: number }>;
      callsPerPod: number;
      webhookCallMs: Record<string, number | null>;
      overheadRatioQuarters: Record<string, number[]>;
    };
    expect(Object.keys(details.series)).toEqual(['none', 'sandbox-storage', 'bare', 'replay']);
    for (const series of Object.values(details.series)) {
      expect(series.count).toBe(30);
      expect(series.p50).toBeGreaterThan(0);
      expect(series.p50).toBeLessThanOrEqual(series.p99);
    }
    expect(details.callsPerPod).toBeGreaterThanOrEqual(1);
    // kube-apiserver's webhook histogram, told apart by each series' webhook name.
    expect(Object.keys(details.webhookCallMs)).toEqual(['sandbox-storage', 'bare', 'replay']);
    for (const callMs of Object.values(details.webhookCallMs)) expect(callMs).toBeGreaterThan(0);
    expect(Object.keys(details.overheadRatioQuarters)).toEqual(['sandbox-storage', 'replay']);
    for (const quarters of Object.values(details.overheadRatioQuarters)) {
      expect(quarters).toHaveLength(4);
      for (const ratio of quarters) expect(Number.isFinite(ratio)).toBe(true);
    }
  });

  it('seeding: both copies timed, the second run measured', () => {
    const details = scenario('seeding').details as { plainMs: number[]; seedMs: number[]; secondRunMs: number[]; files: number };
    expect(details.files).toBeGreaterThan(0);
    expect(details.plainMs.length).toBeGreaterThan(0);
    expect(details.seedMs.length).toBe(details.plainMs.length);
    expect(details.secondRunMs.length).toBe(7);
    // The per-shell part: at least dash with GNU tools, every step timed once per round.
    const shells = (scenario('seeding').details as { shells: Array<{ shell: string; tarMs: number[]; firstMs: number[]; restartMs: number[]; mergeMs: number[]; merge: string }> }).shells;
    expect(shells.map((entry) => entry.shell)).toContain('dash + GNU');
    for (const entry of shells) {
      for (const series of [entry.tarMs, entry.firstMs, entry.restartMs, entry.mergeMs]) expect(series.length, entry.shell).toBe(entry.tarMs.length);
      expect(entry.merge).toMatch(/^added [1-9]\d*, updated [1-9]\d*$/);
    }
  });

  it('controller: per-Pod provisioning times for every Pod of the PVC phase, percentiles ordered', () => {
    const details = scenario('controller').details as { pvcPods: number; perPodMs: Record<string, { count: number; p50: number; p99: number }> };
    expect(Object.keys(details.perPodMs)).toEqual(['createRoundTrip', 'toClaim', 'toRelease', 'answeredToClaim']);
    // From the answer on is part of the whole way from the send.
    expect(details.perPodMs.answeredToClaim!.p50).toBeLessThanOrEqual(details.perPodMs.toClaim!.p50);
    for (const series of Object.values(details.perPodMs)) {
      expect(series.count).toBe(details.pvcPods);
      expect(series.p50).toBeGreaterThan(0);
      expect(series.p50).toBeLessThanOrEqual(series.p99);
    }
  });

  it('writes a markdown report and a standalone SVG chart naming every scenario', () => {
    for (const entry of results.scenarios) expect(markdown).toContain(entry.title);
    expect(markdown).toContain('same run');
    expect(chart.startsWith('<svg')).toBe(true);
    expect(chart.trimEnd().endsWith('</svg>')).toBe(true);
    expect(chart).toContain('Targets');
    expect(chart).not.toMatch(/NaN|undefined/);
  });
});
