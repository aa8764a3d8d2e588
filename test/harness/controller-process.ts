// Runs `sandbox-storage controller` (or `run`) as a real process, the way a Deployment replica runs it, and reads
// its JSON log lines.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { waitFor } from './wait.ts';

const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));

export interface ControllerProcess {
  child: ChildProcess;
  logs: Array<Record<string, unknown>>;
  exited: Promise<number | null>;
  metricsPort(): Promise<number>;
  /** SIGTERM, then SIGKILL after a deadline. */
  stop(): Promise<void>;
}

/** Arguments of one leader-elected `controller` replica with short lease timings, so that failover tests stay quick. */
export function controllerReplicaArgs(options: { kubeconfigPath: string; leaseNamespace: string; identity: string; leaseDurationSeconds?: number }): string[] {
  return [
    'controller',
    `--kubeconfig=${options.kubeconfigPath}`,
    `--lease-namespace=${options.leaseNamespace}`,
    `--ownership-key-namespace=${options.leaseNamespace}`,
    `--identity=${options.identity}`,
    `--lease-duration=${options.leaseDurationSeconds ?? 6}s`,
    '--renew-deadline=4s',
    '--retry-period=1s',
    '--metrics-port=0',
    '--metrics-host=127.0.0.1',
  ];
}

export function startControllerProcess(args: string[]): ControllerProcess {
  // setpriv makes the kernel kill the replica when the test process dies, so no controller outlives its test.
  const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((path) => existsSync(path));
  const command = setpriv ? [setpriv, '--pdeathsig', 'KILL', '--', process.execPath, cli, ...args] : [process.execPath, cli, ...args];
  const child = spawn(command[0] as string, command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: Array<Record<string, unknown>> = [];
  let buffered = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ msg: line });
      }
    }
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    logs,
    exited,
    metricsPort: () =>
      waitFor(() => logs.find((line) => typeof line.metricsPort === 'number')?.metricsPort as number | undefined, {
        description: `the metrics port in the log of ${args.join(' ')} (stderr: ${stderr.slice(-500)})`,
        timeoutMs: 60_000,
      }),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
