// A self-contained SVG chart of a run, readable without the JSON: every target as measured / limit (the line at 1
// is the limit; green met, red missed) and every comparison as ours / same-run baseline (the line at 1 is the
// baseline). Plain SVG text and rectangles, no scripts or fonts to fetch.
import { formatTarget } from './markdown.ts';
import type { BenchResults } from './results.ts';

const width = 1320;
const labelWidth = 490;
const barX = labelWidth + 10;
const barWidth = 380;
const rowHeight = 22;
const maxScale = 3; // bars are clipped at 3× the limit or baseline

function escapeXml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

function formatValue(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const magnitude = Math.abs(value);
  return magnitude >= 100 ? value.toFixed(0) : magnitude >= 10 ? value.toFixed(1) : value.toFixed(2);
}

interface Row {
  label: string;
  fraction: number;
  color: string;
  text: string;
}

function panel(title: string, subtitle: string, rows: Row[], top: number): { svg: string[]; height: number } {
  const svg: string[] = [];
  svg.push(`<text x="10" y="${top + 18}" font-size="16" font-weight="bold">${escapeXml(title)}</text>`);
  svg.push(`<text x="10" y="${top + 36}" font-size="12" fill="#555">${escapeXml(subtitle)}</text>`);
  const rowsTop = top + 48;
  const scaleX = (fraction: number) => barX + (Math.min(Math.max(fraction, 0), maxScale) / maxScale) * barWidth;
  rows.forEach((row, index) => {
    const y = rowsTop + index * rowHeight;
    if (index % 2 === 0) svg.push(`<rect x="0" y="${y}" width="${width}" height="${rowHeight}" fill="#f4f4f4"/>`);
    svg.push(`<text x="${labelWidth}" y="${y + 15}" font-size="12" text-anchor="end">${escapeXml(row.label)}</text>`);
    const end = scaleX(row.fraction);
    svg.push(`<rect x="${barX}" y="${y + 4}" width="${Math.max(1, end - barX).toFixed(1)}" height="${rowHeight - 8}" fill="${row.color}"/>`);
    if (row.fraction > maxScale) svg.push(`<text x="${end - 4}" y="${y + 15}" font-size="11" text-anchor="end" fill="#fff">»</text>`);
    svg.push(`<text x="${barX + barWidth + 8}" y="${y + 15}" font-size="12">${escapeXml(row.text)}</text>`);
  });
  const bottom = rowsTop + rows.length * rowHeight;
  for (const tick of [0, 1, 2, 3]) {
    const x = scaleX(tick);
    svg.push(`<line x1="${x}" y1="${rowsTop}" x2="${x}" y2="${bottom}" stroke="${tick === 1 ? '#000' : '#bbb'}" stroke-width="${tick === 1 ? 1.5 : 0.5}"${tick === 1 ? '' : ' stroke-dasharray="3,3"'}/>`);
    svg.push(`<text x="${x}" y="${bottom + 14}" font-size="11" text-anchor="middle" fill="#555">${tick}×</text>`);
  }
  return { svg, height: bottom + 24 - top };
}

export function renderChart(results: BenchResults): string {
  const machine = results.machine;
  const body: string[] = [];
  body.push(`<text x="10" y="22" font-size="18" font-weight="bold">sandbox-storage benchmarks, ${escapeXml(results.startedAt)} (${results.mode} run)</text>`);
  body.push(
    `<text x="10" y="40" font-size="12" fill="#555">${escapeXml(
      `${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGiB} GiB, Node ${machine.node}, load average ${machine.loadAverageAtStart.join(' / ')} at start. All ratios are to baselines measured in the same run.`,
    )}</text>`,
  );
  let top = 50;
  const targetRows: Row[] = results.scenarios.flatMap((scenario) =>
    scenario.targets.map((check) => ({
      label: `${scenario.id}: ${check.name}`,
      fraction: check.value / check.limit,
      color: check.met ? '#2e8b57' : '#c0392b',
      text: `${check.met ? 'met' : 'MISSED'}: ${formatTarget(check)}`,
    })),
  );
  const targets = panel('Targets: measured ÷ limit', 'The black line is the limit. "≥" targets must reach past it, "≤" targets stay left of it. Green: met, red: missed.', targetRows, top);
  body.push(...targets.svg);
  top += targets.height + 10;
  const comparisonRows: Row[] = results.scenarios.flatMap((scenario) =>
    scenario.comparisons.map((entry) => ({
      label: `${scenario.id}: ${entry.name}`,
      fraction: entry.ratio,
      color: '#3b6ea5',
      text: `${formatValue(entry.ratio)}×: ${formatValue(entry.ours)} vs ${formatValue(entry.baseline)} ${entry.unit} (${entry.baselineName})`,
    })),
  );
  const comparisons = panel('Ours ÷ same-run baseline', 'The black line is the baseline (1×).', comparisonRows, top);
  body.push(...comparisons.svg);
  top += comparisons.height + 10;
  for (const scenario of results.scenarios.filter((entry) => entry.status !== 'ok')) {
    top += 18;
    body.push(`<text x="10" y="${top}" font-size="13" fill="${scenario.status === 'failed' ? '#c0392b' : '#555'}">${escapeXml(`${scenario.title}: ${scenario.status.toUpperCase()}: ${scenario.reason ?? ''}`)}</text>`);
  }
  const height = top + 16;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Arial, sans-serif">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}
