// The servers under test, each as its own process: `sandbox-storage serve` (the product, as shipped), the ceiling
// server and the bare webhook (same-run baselines).
import { fileURLToPath } from 'node:url';
import type { ServingCertificate } from '../../test/harness/tls.ts';
import { startNodeProcess, type NodeProcess } from './node-process.ts';

export const repositoryRoot = fileURLToPath(new URL('../../', import.meta.url));

export interface RunningServer {
  name: string;
  process: NodeProcess;
  pid: number;
  port: number;
  stop(): Promise<void>;
}

function running(name: string, process: NodeProcess): RunningServer {
  const port = Number(process.ready.port);
  if (!Number.isInteger(port) || port <= 0) throw new Error(`${name} logged no port: ${JSON.stringify(process.ready)}`);
  return { name, process, pid: process.pid, port, stop: () => process.stop() };
}

export interface ServeOptions {
  /** Directory for a V8 CPU profile of the serve process (written when it stops). */
  cpuProfileDir?: string;
  logLevel?: string;
  /**
   * serve's stdout, as under a container runtime (see StartOptions.logFile). Read through a pipe instead, every
   * admission line would cost the benchmark process CPU on the same cores as the server it measures, a cost the
   * reference servers, which log nothing, never have.
   */
  logFile: string;
}

/** The controller serve is told of, as the chart's service account would be. */
export const benchControllerUsername = 'system:serviceaccount:sandbox-storage-system:sandbox-storage-webhook';

/** `sandbox-storage serve --port 0` with the embedded default policy, from the built CLI `cliPath` (as the image runs it). */
export async function startServe(cliPath: string, tls: ServingCertificate, options: ServeOptions): Promise<RunningServer> {
  const nodeArgs = options.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] : [];
  const child = await startNodeProcess({
    script: cliPath,
    nodeArgs,
    cwd: repositoryRoot,
    args: [
      'serve',
      '--tls-cert-file', tls.certFile,
      '--tls-key-file', tls.keyFile,
      '--host', '127.0.0.1',
      '--port', '0',
      '--metrics-port', 'none',
      '--log-level', options.logLevel ?? 'info',
      // Answers as the chart's default `run` answers: a controller exists (so no "nothing lifts the gate" warning).
      '--controller-username', benchControllerUsername,
    ],
    readyMessage: 'webhook server listening',
    logFile: options.logFile,
  });
  return running('sandbox-storage serve', child);
}

export async function startCeilingServer(tls: ServingCertificate): Promise<RunningServer> {
  const script = fileURLToPath(new URL('../servers/ceiling-server.ts', import.meta.url));
  return running('ceiling', await startNodeProcess({ script, args: [tls.certFile, tls.keyFile], readyMessage: 'webhook server listening' }));
}

export async function startBareWebhook(tls: ServingCertificate): Promise<RunningServer> {
  const script = fileURLToPath(new URL('../servers/bare-webhook-server.ts', import.meta.url));
  return running('bare webhook', await startNodeProcess({ script, args: [tls.certFile, tls.keyFile], cwd: repositoryRoot, readyMessage: 'webhook server listening' }));
}

/** The webhook server behind express (as shipped) or a plain node:https router, for the express A/B. */
export async function startListenerServer(router: 'express' | 'plain', tls: ServingCertificate): Promise<RunningServer> {
  const script = fileURLToPath(new URL('../servers/listener-ab-server.ts', import.meta.url));
  const child = await startNodeProcess({ script, args: [router, tls.certFile, tls.keyFile], cwd: repositoryRoot, readyMessage: 'webhook server listening' });
  return running(`${router} router`, child);
}

/** A webhook answering every review with the response in `responseFile` (see bench/servers/replay-webhook-server.ts). */
export async function startReplayWebhook(tls: ServingCertificate, responseFile: string, name = 'replay webhook'): Promise<RunningServer> {
  const script = fileURLToPath(new URL('../servers/replay-webhook-server.ts', import.meta.url));
  return running(name, await startNodeProcess({ script, args: [tls.certFile, tls.keyFile, responseFile], cwd: repositoryRoot, readyMessage: 'webhook server listening' }));
}
