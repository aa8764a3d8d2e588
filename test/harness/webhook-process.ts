// Runs the webhook as a real process (the CLI or a packaged install), reading its JSON log lines, and stops it
// with SIGTERM the way the kubelet does.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface LogLine {
  msg?: string;
  level?: number;
  [key: string]: unknown;
}

export interface WebhookProcess {
  child: ChildProcess;
  /** Every JSON log line so far. */
  logs: LogLine[];
  /** Everything written to stderr (usage errors, crashes). */
  stderr(): string;
  /** Resolves with the listening port once the server logs it; rejects if the process exits first. */
  listening: Promise<number>;
  /** SIGTERM, then the exit code (SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<number | null>;
}

export function startWebhookProcess(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): WebhookProcess {
  const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: LogLine[] = [];
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const listening = new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let entry: LogLine;
      try {
        entry = JSON.parse(line) as LogLine;
      } catch {
        entry = { msg: line };
      }
      logs.push(entry);
      if (entry.msg === 'webhook server listening') resolve(entry.port as number);
    });
    void exited.then((code) => reject(new Error(`the webhook exited with ${code} before listening:\n${stderr}\n${JSON.stringify(logs.slice(-10))}`)));
  });
  listening.catch(() => undefined);
  return {
    child,
    logs,
    stderr: () => stderr,
    listening,
    async stop(graceMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
