// Starts a throwaway Kubernetes control plane (etcd, kube-apiserver and optionally kube-controller-manager) on
// loopback ports in a fresh temporary directory, for integration tests. No kubelet or scheduler: Pods stay
// Pending, which is all admission needs. See DESIGN.md "Facts worth knowing" for why each flag is there.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { createCertificateAuthority } from '../../src/certs/issue.ts';

/** The Service range of every test control plane, and the `kubernetes` Service's address in it. */
export const serviceClusterIpRange = '127.10.0.0/24';
export const kubernetesServiceIp = '127.10.0.1';
import { waitFor } from './wait.ts';

export interface ControlPlaneOptions {
  /** Also run kube-controller-manager: default ServiceAccounts, pvc-protection, garbage collection. Default false. */
  controllerManager?: boolean;
  /** Extra kube-apiserver flags; they come last, so they override the defaults. */
  apiServerArgs?: string[];
  /** kube-apiserver --authorization-mode list (a list flag: repeating it appends). Default ['RBAC']. */
  authorizationModes?: string[];
  /** Extra kube-controller-manager flags; they come last, so they override the defaults. */
  controllerManagerArgs?: string[];
  /** kube-controller-manager --controllers list (a list flag: repeating it appends). Default: all but nodeipam and nodelifecycle. */
  controllers?: string[];
  /** Deadline for each startup phase (etcd healthy, API server ready, controller manager working). */
  startupTimeoutMs?: number;
  /**
   * More client identities signed by the control plane's CA (e.g. a kubelet's `system:node:NAME` in
   * `system:nodes`): a kubeconfig for each is written, by name, into `clientKubeconfigs`.
   */
  clientIdentities?: ClientIdentity[];
}

export interface ClientIdentity {
  /** Key in `clientKubeconfigs`, and file name of the kubeconfig. */
  name: string;
  commonName: string;
  organizations?: string[];
}

export interface ControlPlaneProcess {
  name: 'etcd' | 'kube-apiserver' | 'kube-controller-manager';
  pid: number;
  /** stdout and stderr of the process; the file goes away with the temp dir on stop(). */
  logPath: string;
}

/** Milliseconds from the start of startControlPlane() until each phase was ready. */
export interface StartupTimings {
  etcdHealthyMs: number;
  apiServerReadyMs: number;
  controllerManagerReadyMs?: number;
  totalMs: number;
}

export interface CommandResult {
  stdout: string;
  stderr: string;
  code: number;
}

export interface ControlPlane {
  /** Admin kubeconfig (client certificate in group system:masters, CA-verified server). */
  kubeconfigPath: string;
  /** Kubeconfig paths of `options.clientIdentities`, by name. */
  clientKubeconfigs: Record<string, string>;
  kubeConfig: k8s.KubeConfig;
  serverUrl: string;
  /** etcd's client URL (plain HTTP on 127.0.0.1), for tests that act on the storage itself, e.g. compact it. */
  etcdUrl: string;
  /** PEM of the CA that signed the API server's serving certificate and the admin client certificate. */
  caCertificatePem: string;
  binDir: string;
  /** Temporary directory holding certificates, etcd data and logs; removed by stop(). */
  dir: string;
  controllerManager: boolean;
  processes: ControlPlaneProcess[];
  startup: StartupTimings;
  /** Runs kubectl against this control plane; never throws on a non-zero exit code. */
  kubectl(args: string[], options?: { input?: string }): Promise<CommandResult>;
  /** Last lines of a process's log, for diagnosing a failing test before stop() removes the files. */
  logTail(name: ControlPlaneProcess['name'], lines?: number): string;
  /**
   * Stops kube-apiserver alone (SIGTERM, then SIGKILL after a deadline), keeping etcd and its data: clients see
   * the API server go away as in an upgrade or a crash. startApiServer() brings it back on the same port.
   */
  stopApiServer(): Promise<void>;
  /** Starts kube-apiserver again with the same flags, port and etcd, and waits until it is ready. */
  startApiServer(): Promise<void>;
  /** Stops all processes (SIGTERM, then SIGKILL after a deadline), waits for them and removes `dir`. Idempotent. */
  stop(): Promise<void>;
}

const binDirEnv = 'SANDBOX_STORAGE_CONTROLPLANE_BIN';
const buildScript = fileURLToPath(new URL('../controlplane/build.sh', import.meta.url));
const requiredBinaries = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kubectl'];
const defaultStartupTimeoutMs = 120_000;
const gracefulStopMs = 10_000;
const startAttempts = 3;

let binDirPromise: Promise<string> | undefined;

/** The directory with the control plane binaries: $SANDBOX_STORAGE_CONTROLPLANE_BIN, or built/cached by build.sh. */
export function resolveControlPlaneBinDir(): Promise<string> {
  binDirPromise ??= locateBinDir();
  return binDirPromise;
}

async function locateBinDir(): Promise<string> {
  const fromEnv = process.env[binDirEnv];
  const binDir = fromEnv ? fromEnv : await runBuildScript();
  const missing = requiredBinaries.filter((binary) => !existsSync(join(binDir, binary)));
  if (missing.length > 0) {
    throw new Error(`control plane binaries missing from ${binDir}: ${missing.join(', ')}`);
  }
  return binDir;
}

function runBuildScript(): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('bash', [buildScript], { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const binDir = stdout.trim().split('\n').at(-1);
      if (error || !binDir) {
        reject(new Error(`bash ${buildScript} failed: ${error?.message ?? 'no output'}\n${lastLines(stderr, 30)}`));
      } else {
        resolve(binDir);
      }
    });
  });
}

export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const binDir = await resolveControlPlaneBinDir();
  // Free ports are picked by binding and releasing them, so another process can take one in between;
  // a start that fails on a taken port is retried with fresh ports.
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await startAttempt(binDir, options);
    } catch (error) {
      if (!(error instanceof PortConflictError) || attempt >= startAttempts) throw error;
    }
  }
}

class PortConflictError extends Error {}

async function startAttempt(binDir: string, options: ControlPlaneOptions): Promise<ControlPlane> {
  const startedAt = Date.now();
  const elapsed = () => Date.now() - startedAt;
  const timeoutMs = options.startupTimeoutMs ?? defaultStartupTimeoutMs;
  const withControllerManager = options.controllerManager ?? false;
  removeDirectoriesOfDeadRuns();
  const dir = mkdtempSync(join(tmpdir(), `${tempDirPrefix}${process.pid}-`));
  directoriesToRemoveOnExit.add(dir);
  const processes: ManagedProcess[] = [];
  // Aborted when a process dies while we are still waiting for the control plane to come up.
  const startup = new AbortController();
  const launchProcess = (name: ControlPlaneProcess['name'], args: string[]) => {
    const managed = launch(name, join(binDir, name), args, join(dir, `${name}.log`), (exitDescription) => {
      startup.abort(new Error(`${name} ${exitDescription} during startup; last log lines:\n${logTail(managed.logPath)}`));
    });
    processes.push(managed);
    return managed;
  };
  let stopPromise: Promise<void> | undefined;
  const stop = () => (stopPromise ??= stopAll(processes, dir));

  try {
    const [etcdClientPort, etcdPeerPort, apiServerPort] = await freePorts(3);
    const etcdUrl = `http://127.0.0.1:${etcdClientPort}`;
    launchProcess('etcd', [
      '--name=controlplane',
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-cluster=controlplane=http://127.0.0.1:${etcdPeerPort}`,
      // Test data is disposable; skipping fsync keeps slow disks from dominating test time.
      '--unsafe-no-fsync',
      '--log-level=warn',
    ]);

    // Certificates are made while etcd boots.
    const files = await writeCredentials(dir, options.clientIdentities ?? []);
    const serverUrl = `https://127.0.0.1:${apiServerPort}`;
    const kubeconfigPath = join(dir, 'admin.kubeconfig');
    writeFileSync(kubeconfigPath, adminKubeconfig(serverUrl, files.credentials));
    const clientKubeconfigs: Record<string, string> = {};
    for (const identity of files.identities) {
      const path = join(dir, `${identity.name}.kubeconfig`);
      writeFileSync(path, adminKubeconfig(serverUrl, identity.credentials), { mode: 0o600 });
      clientKubeconfigs[identity.name] = path;
    }

    await waitFor(() => etcdHealthy(etcdUrl), {
      description: `etcd health at ${etcdUrl}/health`,
      timeoutMs,
      signal: startup.signal,
    });
    const etcdHealthyMs = elapsed();

    const apiServerArgs = [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${apiServerPort}`,
      '--advertise-address=127.0.0.1',
      // 1.37 refuses a loopback advertise address unless the endpoint reconciler is off.
      '--endpoint-reconciler-type=none',
      // A loopback range: a call to a Service (a webhook's, the `kubernetes` one) never sends traffic to a private range.
      `--service-cluster-ip-range=${serviceClusterIpRange}`,
      `--authorization-mode=${(options.authorizationModes ?? ['RBAC']).join(',')}`,
      `--client-ca-file=${files.caCertificate}`,
      `--tls-cert-file=${files.servingCertificate}`,
      `--tls-private-key-file=${files.servingKey}`,
      `--cert-dir=${join(dir, 'apiserver-certs')}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${files.serviceAccountPublicKey}`,
      `--service-account-signing-key-file=${files.serviceAccountPrivateKey}`,
      // Like real clusters, so tests may create privileged Pods.
      '--allow-privileged=true',
      // Without the controller manager nobody creates `default` ServiceAccounts, and this plugin would reject Pods.
      ...(withControllerManager ? [] : ['--disable-admission-plugins=ServiceAccount']),
      ...(options.apiServerArgs ?? []),
    ];
    launchProcess('kube-apiserver', apiServerArgs);
    await waitFor(() => apiServerReady(serverUrl, files.credentials), {
      description: `kube-apiserver ${serverUrl}/readyz`,
      timeoutMs,
      intervalMs: 200,
      signal: startup.signal,
    });
    const apiServerReadyMs = elapsed();

    const kubeConfig = new k8s.KubeConfig();
    kubeConfig.loadFromFile(kubeconfigPath);

    let controllerManagerReadyMs: number | undefined;
    if (withControllerManager) {
      launchProcess('kube-controller-manager', [
        `--kubeconfig=${kubeconfigPath}`,
        '--bind-address=127.0.0.1',
        // Serves nothing: tests observe the controllers through the objects they change.
        '--secure-port=0',
        '--leader-elect=false',
        `--service-account-private-key-file=${files.serviceAccountPrivateKey}`,
        `--root-ca-file=${files.caCertificate}`,
        // No nodes exist, so node IPAM and lifecycle have nothing to do.
        `--controllers=${(options.controllers ?? ['*', '-nodeipam', '-nodelifecycle']).join(',')}`,
        ...(options.controllerManagerArgs ?? []),
      ]);
      // The service account controller creating `default` shows the controllers are running.
      await waitForDefaultServiceAccount(kubeConfig, 'default', { timeoutMs, signal: startup.signal });
      controllerManagerReadyMs = elapsed();
    }

    for (const managed of processes) managed.onUnexpectedExit = reportExitAfterStartup(managed);
    const apiServerIndex = processes.findIndex((managed) => managed.name === 'kube-apiserver');
    return {
      kubeconfigPath,
      clientKubeconfigs,
      kubeConfig,
      serverUrl,
      etcdUrl,
      caCertificatePem: files.credentials.caCertificatePem,
      binDir,
      dir,
      controllerManager: withControllerManager,
      get processes() {
        return processes.map(({ name, child, logPath }) => ({ name, pid: child.pid ?? -1, logPath }));
      },
      startup: {
        etcdHealthyMs,
        apiServerReadyMs,
        ...(controllerManagerReadyMs === undefined ? {} : { controllerManagerReadyMs }),
        totalMs: elapsed(),
      },
      kubectl: (args, kubectlOptions) =>
        runCommand(
          join(binDir, 'kubectl'),
          [`--kubeconfig=${kubeconfigPath}`, `--cache-dir=${join(dir, 'kubectl-cache')}`, ...args],
          kubectlOptions?.input,
        ),
      logTail: (name, lines) => {
        const managed = processes.find((candidate) => candidate.name === name);
        return managed ? logTail(managed.logPath, lines) : '';
      },
      async stopApiServer() {
        await stopProcess(processes[apiServerIndex] as ManagedProcess);
      },
      async startApiServer() {
        const previous = processes[apiServerIndex] as ManagedProcess;
        if (!previous.hasExited) throw new Error('kube-apiserver is still running; call stopApiServer() first');
        const apiServerBinary = join(binDir, 'kube-apiserver');
        // Same log file (appended), same flags: same port, same etcd, same certificates.
        const managed = launch('kube-apiserver', apiServerBinary, apiServerArgs, previous.logPath, () => undefined);
        managed.onUnexpectedExit = reportExitAfterStartup(managed);
        processes[apiServerIndex] = managed;
        await waitFor(() => apiServerReady(serverUrl, files.credentials), {
          description: `restarted kube-apiserver ${serverUrl}/readyz`,
          timeoutMs,
          intervalMs: 200,
        });
      },
      stop,
    };
  } catch (error) {
    const portTaken = processes.some((managed) => logTail(managed.logPath, 200).includes('address already in use'));
    await stop();
    if (portTaken) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new PortConflictError(`a control plane port was taken: ${reason}`, { cause: error });
    }
    throw error;
  }
}

/** Creates a namespace with a unique name `<prefix>-<random>`; with a controller manager, waits for its `default` ServiceAccount. */
export async function createTestNamespace(
  controlPlane: ControlPlane,
  prefix: string,
  labels: Record<string, string> = {},
): Promise<string> {
  const suffix = randomBytes(4).toString('hex');
  const safePrefix =
    prefix
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 63 - suffix.length - 1)
      .replace(/-+$/, '') || 'test';
  const name = `${safePrefix}-${suffix}`;
  const core = controlPlane.kubeConfig.makeApiClient(k8s.CoreV1Api);
  await core.createNamespace({ body: { metadata: { name, labels } } });
  if (controlPlane.controllerManager) await waitForDefaultServiceAccount(controlPlane.kubeConfig, name);
  return name;
}

/** Waits until the service account controller has created `default` in `namespace`; Pods need it for admission. */
export async function waitForDefaultServiceAccount(
  kubeConfig: k8s.KubeConfig,
  namespace: string,
  { timeoutMs = 60_000, signal }: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<void> {
  const core = kubeConfig.makeApiClient(k8s.CoreV1Api);
  await waitFor(
    async () => {
      try {
        return await core.readNamespacedServiceAccount({ name: 'default', namespace });
      } catch (error) {
        if (error instanceof k8s.ApiException && error.code === 404) return undefined;
        throw error;
      }
    },
    { description: `ServiceAccount default in namespace ${namespace}`, timeoutMs, intervalMs: 200, ...(signal ? { signal } : {}) },
  );
}

// --- processes ---------------------------------------------------------------------------------------------------

interface ManagedProcess {
  name: ControlPlaneProcess['name'];
  child: ChildProcess;
  logPath: string;
  exited: Promise<void>;
  hasExited: boolean;
  stopping: boolean;
  /** Called when the process exits without stop() asking it to; receives e.g. "exited with code 1". */
  onUnexpectedExit: (exitDescription: string) => void;
}

const tempDirPrefix = 'sandbox-storage-controlplane-';

// A test process killed outright cannot remove its temp dir (its children die with it, see launch());
// the dir name carries the owner's pid, so a later run removes dirs whose owner is gone.
function removeDirectoriesOfDeadRuns(): void {
  for (const entry of readdirSync(tmpdir())) {
    if (!entry.startsWith(tempDirPrefix)) continue;
    const ownerPid = Number(entry.slice(tempDirPrefix.length).split('-')[0]);
    if (ownerPid && !isProcessRunning(ownerPid)) rmSync(join(tmpdir(), entry), { recursive: true, force: true });
  }
}

function isProcessRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the pid exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const liveChildren = new Set<ChildProcess>();
const directoriesToRemoveOnExit = new Set<string>();
let exitHandlerInstalled = false;

// 'exit' handlers must be synchronous: SIGKILL every child that is still running and remove the temp dirs,
// so a crashed or aborted test run leaves nothing behind.
function installExitHandler(): void {
  if (exitHandlerInstalled) return;
  exitHandlerInstalled = true;
  process.on('exit', () => {
    for (const child of liveChildren) child.kill('SIGKILL');
    for (const dir of directoriesToRemoveOnExit) rmSync(dir, { recursive: true, force: true });
  });
}

// setpriv asks the kernel to SIGKILL the child when its parent dies, which also covers deaths where 'exit'
// handlers never run (SIGKILL of the test worker). It execs the binary, so the pid is the binary's own.
const deathSignalWrapper = ['/usr/bin/setpriv', '/bin/setpriv'].find((path) => existsSync(path));

function launch(
  name: ControlPlaneProcess['name'],
  binary: string,
  args: string[],
  logPath: string,
  onUnexpectedExit: (exitDescription: string) => void,
): ManagedProcess {
  installExitHandler();
  const logFd = openSync(logPath, 'a');
  const [command, commandArgs] = deathSignalWrapper
    ? [deathSignalWrapper, ['--pdeathsig', 'KILL', '--', binary, ...args]]
    : [binary, args];
  let child: ChildProcess;
  try {
    // The child writes its log straight to the file, independent of our event loop.
    child = spawn(command, commandArgs, { stdio: ['ignore', logFd, logFd] });
  } finally {
    closeSync(logFd);
  }
  liveChildren.add(child);
  const managed: ManagedProcess = {
    name,
    child,
    logPath,
    hasExited: false,
    stopping: false,
    onUnexpectedExit,
    exited: new Promise((resolve) => {
      const settle = (exitDescription: string) => {
        if (managed.hasExited) return;
        managed.hasExited = true;
        liveChildren.delete(child);
        if (!managed.stopping) managed.onUnexpectedExit(exitDescription);
        resolve();
      };
      child.once('exit', (code, signal) => settle(signal ? `was killed by ${signal}` : `exited with code ${code}`));
      child.once('error', (error) => settle(`failed to start (${error.message})`));
    }),
  };
  return managed;
}

function reportExitAfterStartup(managed: ManagedProcess): (exitDescription: string) => void {
  return (exitDescription) => {
    process.stderr.write(
      `test control plane: ${managed.name} ${exitDescription} unexpectedly; last log lines:\n${logTail(managed.logPath)}\n`,
    );
  };
}

async function stopAll(processes: ManagedProcess[], dir: string): Promise<void> {
  // Reverse start order: clients of the API server first, etcd last.
  for (const managed of [...processes].reverse()) await stopProcess(managed);
  rmSync(dir, { recursive: true, force: true });
  directoriesToRemoveOnExit.delete(dir);
}

async function stopProcess(managed: ManagedProcess): Promise<void> {
  managed.stopping = true;
  if (managed.hasExited) return;
  managed.child.kill('SIGTERM');
  let graceTimer: NodeJS.Timeout | undefined;
  const graceOver = new Promise<'grace over'>((resolve) => {
    graceTimer = setTimeout(() => resolve('grace over'), gracefulStopMs);
  });
  const outcome = await Promise.race([managed.exited.then(() => 'exited' as const), graceOver]);
  clearTimeout(graceTimer);
  if (outcome === 'grace over') {
    managed.child.kill('SIGKILL');
    await managed.exited;
  }
}

function runCommand(command: string, args: string[], input?: string): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.once('error', reject);
    child.once('close', (code, signal) =>
      resolve({
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8') + (signal ? `\nkilled by ${signal}` : ''),
        code: code ?? 128,
      }),
    );
    child.stdin.end(input ?? '');
  });
}

function logTail(logPath: string, lines = 40): string {
  try {
    const size = statSync(logPath).size;
    const length = Math.min(size, 64 * 1024);
    const buffer = Buffer.alloc(length);
    const fd = openSync(logPath, 'r');
    try {
      readSync(fd, buffer, 0, length, size - length);
    } finally {
      closeSync(fd);
    }
    return lastLines(buffer.toString('utf8'), lines);
  } catch {
    return '(no log)';
  }
}

function lastLines(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

// --- ports, credentials, health -----------------------------------------------------------------------------------

/** Distinct free loopback ports: all listeners are held open until every port is known. */
/** `count` distinct free loopback ports, found by binding and releasing them. */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => (server.address() as AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

interface ClientCredentials {
  caCertificatePem: string;
  clientCertificatePem: string;
  clientKeyPem: string;
}

async function writeCredentials(dir: string, clientIdentities: ClientIdentity[]) {
  const authority = await createCertificateAuthority('sandbox-storage test control plane CA');
  const serving = await authority.issue({
    commonName: 'kube-apiserver',
    dnsNames: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc'],
    ipAddresses: ['127.0.0.1', kubernetesServiceIp],
    usage: 'server',
  });
  const admin = await authority.issue({ commonName: 'admin', organizations: ['system:masters'], usage: 'client' });
  const identities = await Promise.all(
    clientIdentities.map(async (identity) => {
      const issued = await authority.issue({ commonName: identity.commonName, organizations: identity.organizations ?? [], usage: 'client' });
      const credentials: ClientCredentials = {
        caCertificatePem: authority.certificatePem,
        clientCertificatePem: issued.certificatePem,
        clientKeyPem: issued.privateKeyPem,
      };
      return { name: identity.name, credentials };
    }),
  );
  const serviceAccountKeys = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const certsDir = join(dir, 'pki');
  mkdirSync(certsDir, { mode: 0o700 });
  const write = (fileName: string, contents: string) => {
    const path = join(certsDir, fileName);
    writeFileSync(path, contents, { mode: 0o600 });
    return path;
  };
  return {
    caCertificate: write('ca.crt', authority.certificatePem),
    servingCertificate: write('apiserver.crt', serving.certificatePem),
    servingKey: write('apiserver.key', serving.privateKeyPem),
    serviceAccountPublicKey: write('sa.pub', serviceAccountKeys.publicKey),
    serviceAccountPrivateKey: write('sa.key', serviceAccountKeys.privateKey),
    identities,
    credentials: {
      caCertificatePem: authority.certificatePem,
      clientCertificatePem: admin.certificatePem,
      clientKeyPem: admin.privateKeyPem,
    } satisfies ClientCredentials,
  };
}

function adminKubeconfig(serverUrl: string, credentials: ClientCredentials): string {
  const base64 = (pem: string) => Buffer.from(pem).toString('base64');
  // JSON is valid YAML, so kubectl and client-node both read this.
  return JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        { name: 'test', cluster: { server: serverUrl, 'certificate-authority-data': base64(credentials.caCertificatePem) } },
      ],
      users: [
        {
          name: 'admin',
          user: {
            'client-certificate-data': base64(credentials.clientCertificatePem),
            'client-key-data': base64(credentials.clientKeyPem),
          },
        },
      ],
      contexts: [{ name: 'test', context: { cluster: 'test', user: 'admin' } }],
      'current-context': 'test',
    },
    null,
    2,
  );
}

async function etcdHealthy(etcdUrl: string): Promise<boolean> {
  const response = await fetch(`${etcdUrl}/health`, { signal: AbortSignal.timeout(5_000) });
  const body = await response.text();
  if (!response.ok) throw new Error(`HTTP ${response.status}: ${body}`);
  return (JSON.parse(body) as { health?: string }).health === 'true';
}

/** /readyz over TLS verified with our CA; a failing check's verbose body becomes the wait's last error. */
function apiServerReady(serverUrl: string, credentials: ClientCredentials): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const request = httpsRequest(
      `${serverUrl}/readyz?verbose`,
      {
        ca: credentials.caCertificatePem,
        cert: credentials.clientCertificatePem,
        key: credentials.clientKeyPem,
        timeout: 5_000,
        agent: false,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          if (response.statusCode === 200) resolve(true);
          else {
            const failedChecks = Buffer.concat(chunks)
              .toString('utf8')
              .split('\n')
              .filter((line) => line.startsWith('[-]'));
            reject(new Error(`HTTP ${response.statusCode}: ${failedChecks.join('; ')}`));
          }
        });
        response.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(new Error('request timed out')));
    request.on('error', reject);
    request.end();
  });
}
