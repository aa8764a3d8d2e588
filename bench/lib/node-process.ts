// Starts a Node program as its own process with the same Node binary as the benchmark (the repository's pinned
// LTS, i.e. what `npx node` runs) and waits for a JSON log line, e.g. the webhook's "webhook server listening".
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface NodeProcess {
  child: ChildProcess;
  pid: number;
  /** The fields of the awaited log line. */
  ready: Record<string, unknown>;
  /** Every JSON log line seen so far, counted by its `msg`. */
  messageCounts: Map<string, number>;
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
}

// A benchmark that crashes or is interrupted must not leave servers running: kill what is still alive on exit.
const liveChildren = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of liveChildren) child.kill('SIGKILL');
});

export async function startNodeProcess(options: StartOptions): Promise<NodeProcess> {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), options.script, ...options.args], {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
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
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let fields: Record<string, unknown> | undefined;
      try {
        fields = line.startsWith('{') ? (JSON.parse(line) as Record<string, unknown>) : undefined;
      } catch {
        fields = undefined;
      }
      const message = typeof fields?.msg === 'string' ? fields.msg : undefined;
      if (!fields || message === undefined) return remember(line);
      messageCounts.set(message, (messageCounts.get(message) ?? 0) + 1);
      if (matches(message)) {
        clearTimeout(timer);
        resolve(fields);
      }
    });
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
    return { child, pid: child.pid!, ready: await ready, messageCounts, tail: () => lines.join('\n'), stop };
  } catch (error) {
    await stop(2_000);
    throw error;
  }
}
