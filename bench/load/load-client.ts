// Runs one load job in a separate process (load-worker.ts) and samples the server around the measured window.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ClosedLoopResult, LoadJob, PacedResult, WorkerMessage } from './load-types.ts';

const workerPath = fileURLToPath(new URL('./load-worker.ts', import.meta.url));

export interface WindowHooks<S> {
  /** Called when the measured window starts (after warm-up). */
  onStart: () => S;
}

export async function runLoad<R extends ClosedLoopResult | PacedResult, S>(
  job: LoadJob,
  hooks: WindowHooks<S>,
): Promise<{ result: R; startSample: S }> {
  const child = fork(workerPath, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
  return new Promise((resolve, reject) => {
    let startSample: S | undefined;
    let settled = false;
    const settle = (action: () => void) => {
      if (settled) return;
      settled = true;
      action();
    };
    child.on('message', (message: WorkerMessage) => {
      try {
        handle(message);
      } catch (error) {
        child.kill();
        settle(() => reject(error as Error));
      }
    });
    const handle = (message: WorkerMessage) => {
      if (message.type === 'measuring') startSample = hooks.onStart();
      else if (message.type === 'result') {
        if (startSample === undefined) startSample = hooks.onStart();
        settle(() => resolve({ result: message.result as R, startSample: startSample as S }));
      } else settle(() => reject(new Error(`load generator failed: ${message.message}`)));
    };
    child.once('error', (error) => settle(() => reject(error)));
    // 'close' comes after the IPC channel is drained, so a result sent just before exiting is never lost.
    child.once('close', (code, signal) =>
      settle(() => reject(new Error(`load generator exited (${signal ?? code}) without a result`))),
    );
    child.send(job);
  });
}
