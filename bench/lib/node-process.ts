// Starts a Node program as its own process with the same Node binary as the benchmark (the repository's pinned
// LTS, i.e. what `npx node` runs) and waits for a JSON log line, e.g. the webhook's "webhook server listening".
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { waitFor } from '../../test/harness/wait.ts';

export interface NodeProcess {
  child: ChildProcess;
  pid: number;
  /** The fields of the awaited log line. */
  ready: Record<string, unknown>;
  /** Every JSON log line seen so far, counted by its `msg` (with `logFile`: read from the file at each call). */
  messageCounts(): Map<string, number>;
  /** Last lines of stderr and non-JSON stdout, for error messages. */
  tail(): string;
  /** SIGTERM, then waits for the exit (SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<void>;
}

export interface StartOptions {
  script: string;
  args: string[];
  /** Extra Node flags, e.g. --cpu-prof. */
  nodeArgs?: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  readyMessage: string | RegExp;
  timeoutMs?: number;
  /**
   * Write stdout to this file instead of a pipe to the benchmark, as a container runtime keeps a log: then the
   * benchmark process is not woken to read every log line while it times requests.
   */
  logFile?: string;
}

interface LogLine {
  fields?: Record<string, unknown>;
  message?: string;
}

function parseLogLine(line: string): LogLine {
  let fields: Record<string, unknown> | undefined;
  try {
    fields = line.startsWith('{') ? (JSON.parse(line) as Record<string, unknown>) : undefined;
  } catch {
    fields = undefined;
  }
  return { fields, message: typeof fields?.msg === 'string' ? fields.msg : undefined };
}

function countMessages(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of text.split('\n')) {
    const { message } = parseLogLine(line);
    if (message !== undefined) counts.set(message, (counts.get(message) ?? 0) + 1);
  }
  return counts;
}

// A benchmark that crashes or is interrupted must not leave servers running: kill what is still alive on exit.
const liveChildren = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of liveChildren) child.kill('SIGKILL');
});

export async function startNodeProcess(options: StartOptions): Promise<NodeProcess> {
  const logFd = options.logFile === undefined ? undefined : openSync(options.logFile, 'w');
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), options.script, ...options.args], {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', logFd ?? 'pipe', 'pipe'],
  });
  if (logFd !== undefined) closeSync(logFd); // the child holds its own copy
  const logText = () => readFileSync(options.logFile as string, 'utf8');
  const lines: string[] = [];
  const remember = (line: string) => {
    lines.push(line);
    if (lines.length > 40) lines.shift();
  };
  const messageCounts = new Map<string, number>();
  const matches = (message: string) =>
    typeof options.readyMessage === 'string' ? message === options.readyMessage : options.readyMessage.test(message);
  let exited = false;
  liveChildren.add(child);
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      liveChildren.delete(child);
      resolve();
    }),
  );
  child.stderr?.setEncoding('utf8').on('data', (text: string) => text.split('\n').filter(Boolean).forEach(remember));
  const ready = new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${options.script} did not log ${String(options.readyMessage)} in time:\n${lines.join('\n')}`)),
      options.timeoutMs ?? 30_000,
    );
    if (options.logFile !== undefined) {
      const readyLine = () => logText().split('\n').map(parseLogLine).find((line) => line.message !== undefined && matches(line.message));
      void waitFor(() => exited || readyLine() !== undefined, { description: 'the ready log line', timeoutMs: options.timeoutMs ?? 30_000, intervalMs: 20 }).then(
        () => {
          const line = readyLine();
          if (line?.fields) {
            clearTimeout(timer);
            resolve(line.fields);
          }
        },
        () => undefined, // the timer rejects
      );
    } else {
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const { fields, message } = parseLogLine(line);
        if (!fields || message === undefined) return remember(line);
        messageCounts.set(message, (messageCounts.get(message) ?? 0) + 1);
        if (matches(message)) {
          clearTimeout(timer);
          resolve(fields);
        }
      });
    }
    void exit.then(() => {
      clearTimeout(timer);
      reject(new Error(`${options.script} exited before logging ${String(options.readyMessage)}:\n${lines.join('\n')}`));
    });
  });
  const stop = async (graceMs = 10_000) => {
    if (exited) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exit;
    clearTimeout(timer);
  };
  try {
    const counts = options.logFile === undefined ? () => messageCounts : () => countMessages(logText());
    return { child, pid: child.pid!, ready: await ready, messageCounts: counts, tail: () => lines.join('\n'), stop };
  } catch (error) {
    await stop(2_000);
    throw error;
  }
}
