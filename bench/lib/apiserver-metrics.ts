// Where a Pod CREATE's time goes inside kube-apiserver, from its own Prometheus metrics: the histograms' sums and
// counts read before and after a block of creates, so the difference is that block's alone.

/** One figure: a histogram of the API server, narrowed to the samples whose labels contain every `labels` entry. */
interface Probe {
  metric: string;
  labels: string[];
  /** Label text that excludes a sample (e.g. dry runs). */
  without?: string;
}

// The webhook's own histogram includes applying its patch to the object (the API server does it in the same call).
const probes = {
  webhookCall: { metric: 'apiserver_admission_webhook_admission_duration_seconds', labels: ['type="admit"', 'operation="CREATE"', 'rejected="false"'] },
  mutatingAdmission: { metric: 'apiserver_admission_step_admission_duration_seconds', labels: ['type="admit"', 'operation="CREATE"', 'rejected="false"'] },
  validatingAdmission: { metric: 'apiserver_admission_step_admission_duration_seconds', labels: ['type="validate"', 'operation="CREATE"', 'rejected="false"'] },
  request: { metric: 'apiserver_request_duration_seconds', labels: ['verb="POST"', 'resource="pods"', 'subresource=""'], without: 'dry_run="All"' },
  etcdCreate: { metric: 'etcd_request_duration_seconds', labels: ['operation="create"', 'pods'] },
} satisfies Record<string, Probe>;

export type ApiServerFigure = keyof typeof probes;
export const apiServerFigures = Object.keys(probes) as ApiServerFigure[];
export type ApiServerSnapshot = Record<ApiServerFigure, { sum: number; count: number }>;

function total(text: string, name: string, probe: Probe): number {
  let value = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const space = line.lastIndexOf(' ');
    const labels = line.slice(name.length, space);
    if (probe.labels.every((label) => labels.includes(label)) && !(probe.without && labels.includes(probe.without))) value += Number(line.slice(space + 1));
  }
  return value;
}

/** The figures of a `GET /metrics` answer. */
export function apiServerSnapshot(metricsText: string): ApiServerSnapshot {
  return Object.fromEntries(
    apiServerFigures.map((figure) => {
      const probe: Probe = probes[figure];
      return [figure, { sum: total(metricsText, `${probe.metric}_sum`, probe), count: total(metricsText, `${probe.metric}_count`, probe) }];
    }),
  ) as ApiServerSnapshot;
}

/** Adds what happened between `before` and `after` to `into`. */
export function accumulate(into: ApiServerSnapshot, before: ApiServerSnapshot, after: ApiServerSnapshot): void {
  for (const figure of apiServerFigures) {
    into[figure].sum += after[figure].sum - before[figure].sum;
    into[figure].count += after[figure].count - before[figure].count;
  }
}

export function emptySnapshot(): ApiServerSnapshot {
  return Object.fromEntries(apiServerFigures.map((figure) => [figure, { sum: 0, count: 0 }])) as ApiServerSnapshot;
}

/** Mean milliseconds per observation, or undefined when nothing was observed. */
export function meanMs(figure: { sum: number; count: number }): number | undefined {
  return figure.count > 0 ? (1000 * figure.sum) / figure.count : undefined;
}
