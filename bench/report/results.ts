// The shape of bench/results/<date>.json: one entry per scenario, each with its target checks, its comparisons
// with same-run baselines and a table for the markdown report.

export interface TargetCheck {
  name: string;
  value: number;
  unit: string;
  comparison: '<=' | '>=';
  limit: number;
  met: boolean;
}

/** Ours against a baseline measured in the same run; `ratio` = ours / baseline. */
export interface BaselineComparison {
  name: string;
  ours: number;
  baseline: number;
  baselineName: string;
  unit: string;
  ratio: number;
}

export interface ScenarioTable {
  headers: string[];
  rows: string[][];
}

export interface ScenarioResult {
  id: string;
  title: string;
  status: 'ok' | 'skipped' | 'failed';
  /** Why a scenario was skipped or failed. */
  reason?: string;
  durationSeconds: number;
  targets: TargetCheck[];
  comparisons: BaselineComparison[];
  table?: ScenarioTable;
  notes: string[];
  /** Raw figures, per scenario. */
  details: Record<string, unknown>;
}

export interface MachineDescription {
  cpuModel: string;
  cpus: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  loadAverageAtStart: number[];
  loadAverageAtEnd?: number[];
}

export interface BenchResults {
  schemaVersion: 1;
  startedAt: string;
  mode: 'full' | 'smoke';
  machine: MachineDescription;
  scenarios: ScenarioResult[];
}

export function target(name: string, value: number, unit: string, comparison: '<=' | '>=', limit: number): TargetCheck {
  const met = Number.isFinite(value) && (comparison === '<=' ? value <= limit : value >= limit);
  return { name, value, unit, comparison, limit, met };
}

export function comparison(name: string, ours: number, baseline: number, baselineName: string, unit: string): BaselineComparison {
  return { name, ours, baseline, baselineName, unit, ratio: ours / baseline };
}
