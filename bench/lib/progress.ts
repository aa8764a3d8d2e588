// Progress lines on stderr, so stdout stays free and a long run shows where it is.
const startedAt = Date.now();

export function progress(message: string): void {
  const seconds = ((Date.now() - startedAt) / 1000).toFixed(1).padStart(6);
  process.stderr.write(`[bench ${seconds}s] ${message}\n`);
}
