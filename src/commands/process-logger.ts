// The logger of a long-running webhook process: pino's JSON lines on stdout, the per-admission ones in batches.
import pino, { type Logger, type LoggerOptions } from 'pino';
import { admissionLogMessages } from '../webhook/admission-handler.ts';

/** Admission lines wait until this many bytes are buffered or the interval below has passed, whichever comes first. */
export const logBatchBytes = 4_096;
export const logFlushIntervalMs = 1_000;

/**
 * Admission lines (one per sandbox Pod) go out in writes of ≈ 4 KB instead of one each: a line written right after
 * an answer competes, on a small node, with the API server finishing that very request (bench: Pod CREATE
 * overhead). They reach stdout at most a second late. Any other line (start, leadership, certificates, warnings,
 * errors) is written at once, with whatever is buffered before it; pino writes the rest when the process exits, so
 * only a SIGKILL can lose the last second of admission lines.
 */
export function processLogger(options: LoggerOptions): Logger {
  const destination = pino.destination({ dest: 1, minLength: logBatchBytes, periodicFlush: logFlushIntervalMs });
  return pino(
    {
      ...options,
      hooks: {
        logMethod(args, write) {
          write.apply(this, args);
          const message = args.length > 1 ? args[1] : args[0];
          if (typeof message !== 'string' || !admissionLogMessages.has(message)) destination.flush();
        },
      },
    },
    destination,
  );
}
