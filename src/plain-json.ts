// Reading untrusted JSON without trusting its shape: anything of the wrong type reads as absent.

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

export function podSpec(pod: unknown): Record<string, unknown> {
  return isObject(pod) && isObject(pod.spec) ? pod.spec : {};
}

/** Only string-valued labels count; anything else in a malformed object is ignored, never trusted. */
export function podLabels(pod: unknown): Record<string, string> {
  const metadata = isObject(pod) && isObject(pod.metadata) ? pod.metadata : {};
  const labels = isObject(metadata.labels) ? metadata.labels : {};
  const result: Record<string, string> = {};
  for (const [key, value] of Object.entries(labels)) if (typeof value === 'string') result[key] = value;
  return result;
}
