import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { hotCounter, hotHistogram } from '../../src/metrics/hot-series.ts';

const histogramOptions = {
  name: 'test_duration_seconds',
  help: 'Time taken, by route and result.',
  labelNames: ['route', 'result'],
  buckets: [0.001, 0.01, 0.1],
};
const counterOptions = { name: 'test_decisions_total', help: 'Decisions, by route and reason.', labelNames: ['route', 'reason'] };

// Bucket edges, values past the last bound, labels needing escapes, one label set seen many times.
const observations: Array<[string, string, number]> = [
  ['/mutate', 'mutated', 0.0004],
  ['/mutate', 'mutated', 0.001],
  ['/mutate', 'mutated', 0.05],
  ['/mutate', 'denied', 7],
  ['/validate', 'say "no"\\\n', 0.01],
  ['/mutate', 'mutated', 0.0004],
];

function recorded() {
  const ours = new Registry();
  const reference = new Registry();
  const durationOf = hotHistogram(ours, histogramOptions);
  const decisionsOf = hotCounter(ours, counterOptions);
  const duration = new Histogram({ ...histogramOptions, labelNames: [...histogramOptions.labelNames], registers: [reference] });
  const decisions = new Counter({ ...counterOptions, labelNames: [...counterOptions.labelNames], registers: [reference] });
  for (const [route, result, seconds] of observations) {
    durationOf(route, result).observe(seconds);
    decisionsOf(route, result).inc();
    duration.labels({ route, result }).observe(seconds);
    decisions.labels({ route, reason: result }).inc();
  }
  return { ours, reference };
}

describe('hot series', () => {
  it('expose exactly what prom-client exposes for the same samples', async () => {
    const { ours, reference } = recorded();
    const text = await ours.metrics();
    expect(text).toBe(await reference.metrics());
    expect(text).toContain('test_duration_seconds_bucket{le="0.001",route="/mutate",result="mutated"} 3');
    expect(text).toContain('test_duration_seconds_bucket{le="+Inf",route="/mutate",result="denied"} 1');
    expect(text).toContain('test_decisions_total{route="/mutate",reason="mutated"} 4');
  });

  it('read the same through getMetricsAsJSON, and start over on resetMetrics', async () => {
    const { ours, reference } = recorded();
    // prom-client adds `exemplar: null` to each bucket (exemplars are off); nothing else may differ.
    const withoutExemplars = async (registry: Registry) =>
      (await registry.getMetricsAsJSON()).map((metric) => ({ ...metric, values: metric.values.map((value) => { const { exemplar: _exemplar, ...rest } = value as typeof value & { exemplar?: unknown }; return rest; }) }));
    expect(await withoutExemplars(ours)).toEqual(await withoutExemplars(reference));
    ours.resetMetrics();
    reference.resetMetrics();
    expect(await ours.metrics()).toBe(await reference.metrics());
    expect(await ours.metrics()).not.toContain('route=');
  });

  it('refuse what Prometheus could not read, at construction', () => {
    const registry = new Registry();
    expect(() => hotCounter(registry, { ...counterOptions, name: 'bad name' })).toThrow(/invalid metric name/);
    expect(() => hotHistogram(registry, { ...histogramOptions, labelNames: ['le'] })).toThrow(/invalid label name "le"/);
    expect(() => hotHistogram(registry, { ...histogramOptions, buckets: [0.1, 0.01] })).toThrow(/ascending/);
    expect(() => hotCounter(registry, { ...counterOptions, labelNames: [] })).toThrow(/at least one label/);
  });

  it('refuse a wrong number of label values and a value that is not a number', () => {
    const registry = new Registry();
    const durationOf = hotHistogram(registry, histogramOptions);
    expect(() => durationOf('/mutate')).toThrow(/expected 2 label values, got 1/);
    expect(() => durationOf('/mutate', 'mutated').observe(Number.NaN)).toThrow(/not a finite number/);
  });

  it('share a name with no other metric of the registry', () => {
    const registry = new Registry();
    hotCounter(registry, counterOptions);
    expect(() => new Counter({ ...counterOptions, labelNames: [...counterOptions.labelNames], registers: [registry] })).toThrow(/already been registered/);
  });
});
