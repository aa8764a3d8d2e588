// Where a Pod CREATE's time goes inside kube-apiserver, from its own Prometheus metrics: the webhook histogram's sums
// and counts, read before and after the measured creates, so the difference is theirs alone.

/** Sum and count of a histogram's samples over a run. */
export interface HistogramTotal {
  sum: number;
  count: number;
}

// Includes applying the webhook's patch to the object (the API server does it in the same call).
const webhookCallMetric = 'apiserver_admission_webhook_admission_duration_seconds';
const webhookCallLabels = ['type="admit"', 'operation="CREATE"', 'rejected="false"'];

function total(text: string, metric: string, labels: readonly string[]): number {
  let value = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${metric}{`)) continue;
    const space = line.lastIndexOf(' ');
    const lineLabels = line.slice(metric.length, space);
    if (labels.every((label) => lineLabels.includes(label))) value += Number(line.slice(space + 1));
  }
  return value;
}

/** Per webhook name (the `name` label): the admitted CREATE calls of a `GET /metrics` answer so far. */
export function webhookCallTotals(metricsText: string, webhookNames: readonly string[]): Record<string, HistogramTotal> {
  return Object.fromEntries(
    webhookNames.map((name) => {
      const labels = [...webhookCallLabels, `name="${name}"`];
      return [name, { sum: total(metricsText, `${webhookCallMetric}_sum`, labels), count: total(metricsText, `${webhookCallMetric}_count`, labels) }];
    }),
  );
}
