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
  let started: Part[] = [];
  const lead = async () => {
    started = [];
    await startInOrder(parts, started);
  };
  const stepDown = async () => {
    const current = started;
    started = [];
    await stopInReverse(current, logger);
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
      await done.catch(() => undefined);
      // The elector stepped down itself; unelected, the parts run until now.
      if (!elect) await stepDown();
    },
  };
}
