// Writes the results file, the markdown report and the chart side by side.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderMarkdown } from './markdown.ts';
import type { BenchResults } from './results.ts';
import { renderChart } from './svg-chart.ts';

/** `2026-11-25T09-30-00Z`: sortable and safe in file names. */
export function resultsBaseName(date: Date): string {
  return date.toISOString().replace(/\.\d+Z$/, 'Z').replaceAll(':', '-');
}

export function writeReports(results: BenchResults, outDir: string, date: Date): string[] {
  mkdirSync(outDir, { recursive: true });
  const base = resultsBaseName(date);
  const jsonFile = join(outDir, `${base}.json`);
  const markdownFile = join(outDir, `${base}.md`);
  const chartFile = join(outDir, `${base}.svg`);
  writeFileSync(jsonFile, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(chartFile, renderChart(results));
  writeFileSync(markdownFile, renderMarkdown(results, `${base}.svg`));
  return [jsonFile, markdownFile, chartFile];
}
