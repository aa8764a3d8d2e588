// Leadership for the manager's leader-only parts: started on winning the Lease, stopped (last first) on losing it.
// Without leader election (serve; controller --leader-elect=false) this replica leads from the start: writes of
// leader-only parts are optimistic, so replicas that all lead converge.
import type { Logger } from 'pino';
import { LeaderElector, type LeaderElectionOptions } from '../controller/leader-election.ts';
import { startInOrder, stopInReverse, type Part } from './parts.ts';

export interface Leadership {
  /** Starts campaigning (or, unelected, leading). */
  begin(): void;
  /** Stops the leader-only parts and, elected, releases the Lease. */
  stop(): Promise<void>;
}

export function leadership(options: {
  parts: readonly Part[];
  /** The Lease to campaign for; without it this replica always leads. */
  elect?: Omit<LeaderElectionOptions, 'onLeaderChange' | 'logger'>;
  onLeaderChange?: (leading: boolean) => void;
  logger: Logger;
}): Leadership {
  const { parts, elect, onLeaderChange, logger } = options;
  // One term of leadership: what it started, and whether it is over (then nothing more may start in it).
  let term: { started: Part[]; over: boolean } | undefined;
  const lead = async () => {
    const current = { started: [] as Part[], over: false };
    term = current;
    await startInOrder(parts, current.started, () => current.over);
  };
  const stepDown = async () => {
    const current = term;
    term = undefined;
    if (!current) return;
    current.over = true;
    await stopInReverse(current.started, logger);
  };
  const stopped = new AbortController();
  let done: Promise<void> = Promise.resolve();
  return {
    begin() {
      if (parts.length === 0 && !onLeaderChange) return;
      if (elect) {
        const elector = new LeaderElector({ ...elect, logger, ...(onLeaderChange ? { onLeaderChange } : {}) });
        done = elector.run({ onStartedLeading: lead, onStoppedLeading: stepDown }, stopped.signal);
      } else {
        onLeaderChange?.(true);
        done = lead();
      }
      done.catch((error: unknown) => logger.error({ err: error }, 'leader-only parts failed'));
    },
    async stop() {
      stopped.abort();
      // Unelected, the parts run until now; a part still starting (waiting for the always-on parts) is stopped too,
      // without waiting for its start. The elector steps down by itself on the abort.
      if (!elect) await stepDown();
      else await done.catch(() => undefined);
    },
  };
}
