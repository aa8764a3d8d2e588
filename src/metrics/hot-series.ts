// Labelled counters and histograms for the admission path, which records two samples per request. prom-client's
// own validate and hash the whole label set on every inc()/observe(), even on a child from labels(): ≈ 5 % of a
// sandbox admission's CPU (bench A/B). Here a label set is resolved to its accumulator once, and the registry reads
// the same exposition from them when scraped: each series is a collector with get() and reset(), the two methods
// prom-client's Registry calls on any metric it holds.
import { validateMetricName, type Metric, type Registry } from 'prom-client';

interface Sample {
  metricName?: string;
  labels: Record<string, string | number>;
  value: number;
}

interface Collector {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  aggregator: 'sum';
  get(): Promise<{ name: string; help: string; type: 'counter' | 'histogram'; aggregator: 'sum'; values: Sample[] }>;
  reset(): void;
}

export interface SeriesOptions {
  name: string;
  help: string;
  labelNames: readonly string[];
}

export interface HistogramOptions extends SeriesOptions {
  /** Upper bounds, ascending; `+Inf` is added. */
  buckets: readonly number[];
}

export interface CounterChild {
  inc(): void;
}

export interface HistogramChild {
  observe(value: number): void;
}

// prom-client exports its metric-name check, not its label-name one.
const validLabelName = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function checkOptions(options: SeriesOptions): void {
  if (!validateMetricName(options.name)) throw new Error(`invalid metric name ${JSON.stringify(options.name)}`);
  if (options.labelNames.length === 0) throw new Error(`${options.name}: a hot series needs at least one label (use prom-client's own otherwise)`);
  for (const label of options.labelNames) {
    if (!validLabelName.test(label) || label === 'le') throw new Error(`invalid label name ${JSON.stringify(label)} of ${options.name}`);
  }
}

/** One accumulator per label set, found through one Map per label (no key string built per call). */
function childrenBy<Child>(labelNames: readonly string[], create: (labels: Record<string, string>) => Child) {
  let root = new Map<string, unknown>();
  let list: Child[] = [];
  const of = (values: readonly string[]): Child => {
    if (values.length !== labelNames.length) throw new Error(`expected ${labelNames.length} label values, got ${values.length}`);
    let level = root;
    const last = values.length - 1;
    for (let index = 0; index < last; index += 1) {
      const value = values[index] as string;
      let next = level.get(value) as Map<string, unknown> | undefined;
      if (next === undefined) {
        next = new Map();
        level.set(value, next);
      }
      level = next;
    }
    const lastValue = values[last] as string;
    let child = level.get(lastValue) as Child | undefined;
    if (child === undefined) {
      const labels: Record<string, string> = {};
      labelNames.forEach((name, index) => (labels[name] = values[index] as string));
      child = create(labels);
      level.set(lastValue, child);
      list.push(child);
    }
    return child;
  };
  const clear = () => {
    root = new Map();
    list = [];
  };
  return { of, all: () => list, clear };
}

function register(registry: Registry, collector: Collector): void {
  // The registry only reads get(), reset() and the descriptive fields; its types name prom-client's own classes.
  registry.registerMetric(collector as unknown as Metric);
}

export function hotCounter(registry: Registry, options: SeriesOptions): (...values: string[]) => CounterChild {
  checkOptions(options);
  const children = childrenBy(options.labelNames, (labels) => {
    const child = { labels, value: 0, inc: () => void (child.value += 1) };
    return child;
  });
  const { name, help } = options;
  register(registry, {
    name,
    help,
    type: 'counter',
    aggregator: 'sum',
    get: async () => ({ name, help, type: 'counter', aggregator: 'sum', values: children.all().map(({ labels, value }) => ({ labels, value })) }),
    reset: () => children.clear(),
  });
  return (...values) => children.of(values);
}

export function hotHistogram(registry: Registry, options: HistogramOptions): (...values: string[]) => HistogramChild {
  checkOptions(options);
  const bounds = [...options.buckets];
  if (bounds.some((bound, index) => !Number.isFinite(bound) || (index > 0 && bound <= (bounds[index - 1] as number)))) {
    throw new Error(`buckets of ${options.name} must be finite and ascending`);
  }
  const children = childrenBy(options.labelNames, (labels) => {
    const counts = new Float64Array(bounds.length);
    const child = {
      labels,
      counts,
      count: 0,
      sum: 0,
      observe(value: number) {
        if (!Number.isFinite(value)) throw new TypeError(`${options.name}: not a finite number: ${value}`);
        for (let index = 0; index < bounds.length; index += 1) {
          if (value <= (bounds[index] as number)) {
            counts[index] = (counts[index] ?? 0) + 1;
            break;
          }
        }
        child.count += 1;
        child.sum += value;
      },
    };
    return child;
  });
  const { name, help } = options;
  const samples = (): Sample[] =>
    children.all().flatMap(({ labels, counts, count, sum }) => {
      let cumulative = 0;
      const buckets = bounds.map((bound, index): Sample => {
        cumulative += counts[index] ?? 0;
        return { metricName: `${name}_bucket`, labels: { le: bound, ...labels }, value: cumulative };
      });
      return [
        ...buckets,
        { metricName: `${name}_bucket`, labels: { le: '+Inf', ...labels }, value: count },
        { metricName: `${name}_sum`, labels, value: sum },
        { metricName: `${name}_count`, labels, value: count },
      ];
    });
  register(registry, {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    get: async () => ({ name, help, type: 'histogram', aggregator: 'sum', values: samples() }),
    reset: () => children.clear(),
  });
  return (...values) => children.of(values);
}
