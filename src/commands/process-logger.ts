// The logger of a long-running webhook process: pino's JSON lines on stdout, written in batches.
import pino, { type Logger, type LoggerOptions } from 'pino';

/** Lines wait until this many bytes are buffered or the interval below has passed, whichever comes first. */
export const logBatchBytes = 4_096;
export const logFlushIntervalMs = 1_000;

const warnLevel = 40;

/**
 * Info lines (one per admission) go out in writes of ≈ 4 KB instead of one each: a line written right after an
 * answer competes, on a small node, with the API server finishing that very request (bench: Pod CREATE overhead).
 * They reach stdout at most a second late; warnings and errors are written at once, with whatever is buffered
 * before them; pino writes the rest when the process exits, so only a SIGKILL can lose the last second. Call
 * `logger.flush()` after an info line that someone waits for (e.g. the port the server listens on).
 */
export function processLogger(options: LoggerOptions): Logger {
  const destination = pino.destination({ dest: 1, minLength: logBatchBytes, periodicFlush: logFlushIntervalMs });
  return pino(
    {
      ...options,
      hooks: {
        logMethod(args, write, level) {
          write.apply(this, args);
          if (level >= warnLevel) destination.flush();
        },
      },
    },
    destination,
  );
}
