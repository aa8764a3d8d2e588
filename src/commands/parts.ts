// The manager's unit: a part is started, then stopped (a leader-only part once per leadership term). Parts start in
// list order and stop in reverse, so a part may use any part before it.
import type { Logger } from 'pino';

export interface Part {
  name: string;
  /** Resolves once the part is up. */
  start(): Promise<void>;
  /** Called after start() was called, possibly before it resolved: the part must then end up inert. */
  stop(): Promise<void>;
  /**
   * Always-on parts only: this part may wait for the leader to act (the certificate reload waits for the Secret the
   * leader creates), so leadership is campaigned for before it starts.
   */
  waitsForLeader?: boolean;
}

/**
 * Starts `parts` one after another, recording each in `started` before starting it (so it can be stopped), until
 * `cancelled` (the parts are being stopped meanwhile) says to start no more.
 */
export async function startInOrder(parts: readonly Part[], started: Part[], cancelled: () => boolean = () => false): Promise<void> {
  for (const part of parts) {
    if (cancelled()) return;
    started.push(part);
    await part.start();
  }
}

/** Stops `started` last first; a part failing to stop is logged, and the rest still stop. */
export async function stopInReverse(started: readonly Part[], logger: Logger): Promise<void> {
  for (const part of [...started].reverse()) {
    await part.stop().catch((error: unknown) => logger.warn({ err: error, part: part.name }, 'part failed to stop'));
  }
}
