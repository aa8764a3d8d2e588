// Durations on the command line, one rule for every flag: `500ms`, `30s`, `2m`, `1.5h`, `90d`, or a number of
// seconds.
const units: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Whole milliseconds, or undefined when the text is not a duration. Callers refuse 0 where it makes no sense. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!match) return undefined;
  return Math.round(Number(match[1]) * (units[match[2] ?? 's'] as number));
}
