// The logger of a long-running webhook process: pino's JSON lines on stdout, the per-admission ones in batches.
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { admissionLogMessages } from '../webhook/admission-handler.ts';

/** Admission lines wait until this many bytes are buffered or the interval below has passed, whichever comes first. */
export const logBatchBytes = 4_096;
export const logFlushIntervalMs = 1_000;

export interface LineBatch extends DestinationStream {
  /** Hands every buffered line to the sink now. */
  flush(): void;
}

/**
 * Collects lines and hands them to `sink` joined, once at least `minBytes` are waiting (or on flush()). Not
 * SonicBoom's own minLength: its write() measures the whole pending buffer again for every line, which costs a
 * webhook writing one line per admission ≈ 3 % of its CPU (bench A/B); here a line costs an array push.
 */
export function lineBatch(sink: { write(text: string): unknown }, minBytes: number): LineBatch {
  let lines: string[] = [];
  let pending = 0;
  const flush = () => {
    if (lines.length === 0) return;
    const text = lines.join('');
    lines = [];
    pending = 0;
    sink.write(text);
  };
  return {
    write(line: string) {
      lines.push(line);
      pending += line.length;
      if (pending >= minBytes) flush();
    },
    flush,
  };
}

/**
 * Admission lines (one per sandbox Pod) go out in writes of ≈ 4 KB instead of one each: a line written right after
 * an answer competes, on a small node, with the API server finishing that very request (bench: Pod CREATE
 * overhead). They reach stdout at most a second late. Any other line (start, leadership, certificates, warnings,
 * errors) is written at once, with whatever is buffered before it; what is buffered at exit is written then, so
 * only a SIGKILL can lose the last second of admission lines.
 */
export function processLogger(options: LoggerOptions): Logger {
  // Written synchronously: once per batch, and at exit nothing is left in flight.
  const sink = pino.destination({ dest: 1, sync: true });
  const batch = lineBatch(sink, logBatchBytes);
  process.once('exit', () => batch.flush());
  setInterval(() => batch.flush(), logFlushIntervalMs).unref();
  return pino(
    {
      ...options,
      hooks: {
        logMethod(args, write) {
          write.apply(this, args);
          const message = args.length > 1 ? args[1] : args[0];
          if (typeof message !== 'string' || !admissionLogMessages.has(message)) batch.flush();
        },
      },
    },
    batch,
  );
}
