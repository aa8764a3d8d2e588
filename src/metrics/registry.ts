// One Prometheus registry per process, passed to whoever records metrics (never a module-level singleton).
import { collectDefaultMetrics, Registry } from 'prom-client';

/**
 * How often the event-loop lag is sampled. prom-client's default, 10 ms, wakes an idle webhook 100 times a second;
 * a lag that matters to the API server's 10 s timeout shows at 100 ms as well.
 */
export const eventLoopSampleMs = 100;

export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: eventLoopSampleMs });
  return registry;
}
