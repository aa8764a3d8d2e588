// Durations on the command line: `90d`, `2m`, `30s`, `500ms`, `1.5h`.
const units: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds, or undefined when the text is not a positive duration. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim());
  if (!match) return undefined;
  const milliseconds = Number(match[1]) * (units[match[2] as string] as number);
  return milliseconds > 0 ? milliseconds : undefined;
}
