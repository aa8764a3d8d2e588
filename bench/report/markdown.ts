// The markdown report: machine, then per scenario its table, its targets and its same-run baselines.
import type { BenchResults, ScenarioResult, TargetCheck } from './results.ts';

function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const magnitude = Math.abs(value);
  if (magnitude >= 100) return value.toFixed(0);
  if (magnitude >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

export function formatTarget(check: TargetCheck): string {
  return `${formatNumber(check.value)} ${check.unit} (target ${check.comparison === '<=' ? '≤' : '≥'} ${check.limit} ${check.unit})`;
}

function table(headers: string[], rows: string[][]): string {
  const escape = (cell: string) => cell.replaceAll('|', '\\|');
  return [
    `| ${headers.map(escape).join(' | ')} |`,
    `| ${headers.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${row.map(escape).join(' | ')} |`),
  ].join('\n');
}

function scenarioSection(index: number, scenario: ScenarioResult): string {
  const parts = [`### ${index}. ${scenario.title}`];
  if (scenario.status !== 'ok') {
    parts.push(`**${scenario.status.toUpperCase()}**: ${scenario.reason ?? ''}`);
    return parts.join('\n\n');
  }
  if (scenario.table) parts.push(table(scenario.table.headers, scenario.table.rows));
  if (scenario.targets.length > 0) {
    parts.push(
      table(
        ['target', 'measured', 'met'],
        scenario.targets.map((check) => [check.name, formatTarget(check), check.met ? 'yes' : '**NO**']),
      ),
    );
  }
  if (scenario.comparisons.length > 0) {
    parts.push(
      table(
        ['measure', 'ours', 'same-run baseline', 'ratio'],
        scenario.comparisons.map((entry) => [
          entry.name,
          `${formatNumber(entry.ours)} ${entry.unit}`,
          `${formatNumber(entry.baseline)} ${entry.unit} (${entry.baselineName})`,
          `${formatNumber(entry.ratio)}×`,
        ]),
      ),
    );
  }
  if (scenario.notes.length > 0) parts.push(scenario.notes.map((note) => `- ${note}`).join('\n'));
  return parts.join('\n\n');
}

export function renderMarkdown(results: BenchResults, chartFile: string): string {
  const machine = results.machine;
  const allTargets = results.scenarios.flatMap((scenario) => scenario.targets);
  const met = allTargets.filter((check) => check.met).length;
  const header = [
    `## Benchmark results, ${results.startedAt} (${results.mode} run)`,
    `Machine: ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGiB} GiB, Linux ${machine.kernel}, Node ${machine.node}; ` +
      `load average at start ${machine.loadAverageAtStart.join(' / ')}` +
      (machine.loadAverageAtEnd ? `, at end ${machine.loadAverageAtEnd.join(' / ')}` : '') +
      '.',
    'Every figure is compared with a baseline measured in the same run on the same machine; the ratios are what ' +
      'carry over to other machines, the absolute numbers do not.',
    `Targets met: ${met} of ${allTargets.length}.`,
    `![benchmark chart](${chartFile})`,
  ];
  return `${[...header, ...results.scenarios.map((scenario, index) => scenarioSection(index + 1, scenario))].join('\n\n')}\n`;
}
