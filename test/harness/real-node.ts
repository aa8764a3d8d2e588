// A real single-node Kubernetes for end-to-end tests, on loopback: the test control plane (controlplane.ts) with the
// Node authorizer and a Service range in 127.x, kube-scheduler, and containerd + kubelet inside ONE private mount +
// PID namespace (test/node/node-namespace.sh is its PID 1). Everything the node mounts exists in that namespace
// only; when its PID 1 dies the kernel kills every process in it (shims, containers) and the mounts vanish. What
// remains on the host is removed by stop(): the cgroups below the node's cgroupRoot and the run directory.
// Teardown also runs from process exit and SIGINT/SIGTERM handlers, and a later run removes what a killed run left.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { freePorts, startControlPlane, type ControlPlane } from './controlplane.ts';
import { startLocalVolumeProvisioner, type LocalVolumeProvisioner } from './local-volume-provisioner.ts';
import { cniNetworkConfig, containerdConfig, kubeletConfig } from './node-config.ts';
import { waitFor } from './wait.ts';

export const nodeName = '127.0.0.1';
const imageRegistry = 'localhost/sandbox-storage-e2e';
export const testImages = {
  pause: `${imageRegistry}/pause:1`,
  busybox: `${imageRegistry}/busybox:1`,
  sandbox1: `${imageRegistry}/sandbox:1`,
  sandbox2: `${imageRegistry}/sandbox:2`,
  shellLess: `${imageRegistry}/shell-less:1`,
} as const;

const nodeDir = fileURLToPath(new URL('../node/', import.meta.url));
const controlPlaneBuildScript = fileURLToPath(new URL('../controlplane/build.sh', import.meta.url));
const runDirPrefix = 'sandbox-storage-node-';
const systemPath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Why a real node cannot run here, in one line; undefined when it can. */
export function realNodeUnavailableReason(): string | undefined {
  if (process.platform !== 'linux') return `the real test node needs Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return `the real test node needs root (uid ${process.getuid?.()}): it runs containerd and the kubelet`;
  for (const tool of ['unshare', 'setpriv', 'nsenter', 'ip', 'python3', 'apt-get', 'dpkg-deb']) {
    if (!systemPath.split(':').some((dir) => existsSync(join(dir, tool)))) return `the real test node needs ${tool} on this host`;
  }
  return undefined;
}

export interface RealNodeTimings {
  prerequisitesMs: number;
  controlPlaneMs: number;
  nodeReadyMs: number;
  totalMs: number;
}

export interface Leftovers {
  processes: string[];
  mounts: string[];
  cgroups: string[];
  directories: string[];
}

export interface RealNode {
  controlPlane: ControlPlane;
  kubeConfig: k8s.KubeConfig;
  kubeconfigPath: string;
  /** kubectl of the control plane binaries. */
  kubectlPath: string;
  images: typeof testImages;
  storageClassName: string;
  runDir: string;
  cgroupRoot: string;
  timings: RealNodeTimings;
  logTail(name: 'kubelet' | 'containerd' | 'namespace' | 'kube-scheduler', lines?: number): string;
  /** Imports an OCI image archive into the node's containerd (namespace k8s.io), as the test images are. */
  importImage(archive: string): Promise<void>;
  /** Stops everything and removes what the node left on the host. Idempotent. */
  stop(): Promise<void>;
  /** What of this node is still on the host (empty lists after stop()). */
  leftovers(): Leftovers;
}

export interface RealNodeOptions {
  /** Progress lines (cold builds take minutes); default: stderr. */
  log?: (line: string) => void;
}

// --- builds and prerequisites, each cached outside the repository ---------------------------------------------------

function runScript(command: string, args: string[], log: (line: string) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PATH: `${process.env.PATH ?? ''}:${systemPath}` } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
      const lines = stderr.split('\n');
      stderr = lines.pop() ?? '';
      for (const line of lines) if (line.trim() !== '') log(line);
    });
    child.once('error', reject);
    child.once('close', (code) => {
      if (stderr.trim() !== '') log(stderr);
      if (code === 0) resolve(stdout.trim().split('\n').at(-1) ?? '');
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code}`));
    });
  });
}

let binariesPromise: Promise<string> | undefined;
/** kubelet and kube-scheduler (test/node/build.sh): instant when cached, minutes cold. */
export function resolveNodeBinDir(log: (line: string) => void = defaultLog): Promise<string> {
  binariesPromise ??= runScript('bash', [join(nodeDir, 'build.sh')], log);
  return binariesPromise;
}

/** Where the node's builds and images are cached (outside the repository). */
export function nodeCacheRoot(): string {
  return process.env.SANDBOX_STORAGE_NODE_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'sandbox-storage-webhook/node');
}

let toolsPromise: Promise<string> | undefined;
/** The node's Debian packages installed, and the directory holding the static catatonit and busybox. */
export function resolveNodeTools(log: (line: string) => void = defaultLog): Promise<string> {
  toolsPromise ??= runScript('bash', [join(nodeDir, 'prerequisites.sh')], log);
  return toolsPromise;
}

async function prepareImages(log: (line: string) => void): Promise<string> {
  const toolsDir = await resolveNodeTools(log);
  const builder = join(nodeDir, 'make-images.py');
  const key = createHash('sha256');
  for (const file of [builder, join(toolsDir, 'catatonit'), join(toolsDir, 'busybox')]) key.update(readFileSync(file));
  const imagesDir = join(nodeCacheRoot(), `images-${key.digest('hex').slice(0, 12)}`);
  if (!existsSync(join(imagesDir, 'complete'))) {
    log(`building the test images into ${imagesDir}`);
    rmSync(imagesDir, { recursive: true, force: true });
    await runScript('python3', [builder, imagesDir, join(toolsDir, 'catatonit'), join(toolsDir, 'busybox')], log);
    writeFileSync(join(imagesDir, 'complete'), '');
  }
  return imagesDir;
}

// --- host state: cgroups, mounts, processes --------------------------------------------------------------------------

function cgroupHierarchies(): string[] {
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' '))
    .filter((fields) => fields[2] === 'cgroup' || fields[2] === 'cgroup2')
    .map((fields) => fields[1] as string);
}

/** Removes a cgroup tree bottom-up; a cgroup can only go once its processes are gone, so this may need retries. */
function removeCgroupTree(dir: string): void {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) removeCgroupTree(join(dir, entry.name));
  }
  try {
    rmdirSync(dir);
  } catch {
    // still busy; the caller retries
  }
}

function mountsBelow(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((mountPoint) => mountPoint === dir || mountPoint.startsWith(`${dir}/`));
}

function processesMentioning(text: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (/\) Z /.test(stat)) continue; // a zombie waits for its parent: nothing runs
      const commandLine = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (commandLine.includes(text)) found.push(`${pid} ${commandLine.trim()}`);
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

function isAlive(pid: number): boolean {
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Run dirs and cgroups of runs whose process is gone (killed outright: no handler could clean up). */
function removeLeftoversOfDeadRuns(): void {
  const isDead = (name: string) => {
    const owner = Number(name.slice(runDirPrefix.length).split('-')[0]);
    return owner > 0 && !isAlive(owner);
  };
  for (const hierarchy of cgroupHierarchies()) {
    for (const entry of existsSync(hierarchy) ? readdirSync(hierarchy) : []) {
      if (entry.startsWith(runDirPrefix) && isDead(entry)) removeCgroupTree(join(hierarchy, entry));
    }
  }
  for (const entry of readdirSync(tmpdir())) {
    const dir = join(tmpdir(), entry);
    if (entry.startsWith(runDirPrefix) && isDead(entry) && mountsBelow(dir).length === 0) rmSync(dir, { recursive: true, force: true });
  }
}

function logTail(path: string, lines = 40): string {
  try {
    const size = statSync(path).size;
    const text = readFileSync(path, 'utf8').slice(Math.max(0, size - 64 * 1024));
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

const defaultLog = (line: string) => process.stderr.write(`[real node] ${line}\n`);

function spawnWithDeathSignal(command: string, args: string[], logPath: string): ChildProcess {
  const fd = openSync(logPath, 'a');
  try {
    // The kernel kills the child when this process dies, whatever way it dies.
    return spawn('setpriv', ['--pdeathsig', 'KILL', '--', command, ...args], {
      stdio: ['ignore', fd, fd],
      env: { ...process.env, PATH: systemPath },
    });
  } finally {
    closeSync(fd);
  }
}

// --- the node ------------------------------------------------------------------------------------------------------

const activeNodes = new Set<{ stopSync(): void }>();
let handlersInstalled = false;
function installTeardownHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', () => {
    for (const node of activeNodes) node.stopSync();
  });
  for (const [signal, number] of [['SIGINT', 2], ['SIGTERM', 15]] as const) {
    process.once(signal, () => {
      for (const node of activeNodes) node.stopSync();
      // Exit as the signal would, but through process.exit, so that the other 'exit' handlers (the control plane's
      // temp dir) run too.
      process.exit(128 + number);
    });
  }
}

export async function startRealNode(options: RealNodeOptions = {}): Promise<RealNode> {
  const log = options.log ?? defaultLog;
  const unavailable = realNodeUnavailableReason();
  if (unavailable) throw new Error(unavailable);
  const startedAt = Date.now();
  removeLeftoversOfDeadRuns();
  // One build at a time (they share the Go build cache): the control plane's first, with its progress shown.
  if (!process.env.SANDBOX_STORAGE_CONTROLPLANE_BIN) {
    process.env.SANDBOX_STORAGE_CONTROLPLANE_BIN = await runScript('bash', [controlPlaneBuildScript], log);
  }
  const binDir = await resolveNodeBinDir(log);
  const imagesDir = await prepareImages(log);
  const prerequisitesMs = Date.now() - startedAt;

  const runDir = mkdtempSync(join(tmpdir(), `${runDirPrefix}${process.pid}-`));
  const cgroupRoot = `/${runDir.split('/').at(-1)}`;
  const children: ChildProcess[] = [];
  let provisioner: LocalVolumeProvisioner | undefined;
  let controlPlane: ControlPlane | undefined;
  let namespaceLauncher: ChildProcess | undefined;
  let stopped = false;

  /** PID (host view) of the namespace's PID 1: the child of `unshare --fork`. */
  const namespaceInit = (): number | undefined => {
    const launcher = namespaceLauncher?.pid;
    if (launcher === undefined) return undefined;
    try {
      const children = readFileSync(`/proc/${launcher}/task/${launcher}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
      return children.length > 0 ? Number(children[0]) : undefined;
    } catch {
      return undefined;
    }
  };

  const removeHostState = () => {
    for (let attempt = 0; attempt < 50; attempt += 1) {
      for (const hierarchy of cgroupHierarchies()) removeCgroupTree(join(hierarchy, cgroupRoot));
      if (cgroupHierarchies().every((hierarchy) => !existsSync(join(hierarchy, cgroupRoot)))) break;
      sleepSync(100);
    }
    // Never recurse into a mount: it could be the host's data.
    if (mountsBelow(runDir).length === 0) rmSync(runDir, { recursive: true, force: true });
  };

  const stopSync = () => {
    if (stopped) return;
    stopped = true;
    activeNodes.delete(handle);
    const init = namespaceInit();
    if (init !== undefined) process.kill(init, 'SIGKILL');
    for (const child of [...children, namespaceLauncher]) child?.kill('SIGKILL');
    for (let attempt = 0; attempt < 100 && init !== undefined && isAlive(init); attempt += 1) sleepSync(50);
    removeHostState();
  };
  const handle = { stopSync };

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    activeNodes.delete(handle);
    // Every stage runs even when an earlier one failed; the first failure is reported at the end.
    const failures: unknown[] = [];
    const stage = async (work: () => Promise<unknown>) => {
      try {
        await work();
      } catch (error) {
        failures.push(error);
      }
    };
    await stage(async () => provisioner?.stop());
    await stage(stopNamespace);
    await stage(async () => controlPlane?.stop());
    // Processes of the namespace may take a moment to be reaped; their cgroups go once they are.
    await stage(() =>
      waitFor(
        () => {
          for (const hierarchy of cgroupHierarchies()) removeCgroupTree(join(hierarchy, cgroupRoot));
          return cgroupHierarchies().every((hierarchy) => !existsSync(join(hierarchy, cgroupRoot)));
        },
        { description: `cgroups ${cgroupRoot} to be removable`, timeoutMs: 30_000, intervalMs: 100 },
      ),
    );
    removeHostState();
    if (failures.length > 0) throw failures[0];
  };

  const stopNamespace = async () => {
    const init = namespaceInit();
    if (init !== undefined) {
      // PID 1 stops the kubelet and containerd, then exits; the kernel kills the rest of the namespace.
      process.kill(init, 'SIGTERM');
      await waitFor(() => !isAlive(init), { description: 'the node namespace to exit', timeoutMs: 30_000, intervalMs: 100 }).catch(() => {
        process.kill(init, 'SIGKILL');
      });
      await waitFor(() => !isAlive(init), { description: 'the node namespace to die', timeoutMs: 10_000, intervalMs: 50 });
    }
    for (const child of [namespaceLauncher, ...children]) {
      if (!child || child.exitCode !== null || child.signalCode !== null) continue;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
      child.kill('SIGKILL');
    }
  };

  activeNodes.add(handle);
  installTeardownHandlers();
  try {
    controlPlane = await startControlPlane({
      controllerManager: true,
      authorizationModes: ['Node', 'RBAC'],
      apiServerArgs: [
        '--enable-admission-plugins=NodeRestriction',
        '--kubelet-preferred-address-types=InternalIP',
      ],
      // With a node: node lifecycle removes its not-ready taint.
      controllers: ['*', '-nodeipam'],
      clientIdentities: [
        { name: 'kubelet', commonName: `system:node:${nodeName}`, organizations: ['system:nodes'] },
        { name: 'kube-scheduler', commonName: 'system:kube-scheduler' },
      ],
    });
    const controlPlaneMs = Date.now() - startedAt;
    const kubeletKubeconfig = controlPlane.clientKubeconfigs.kubelet as string;
    const schedulerKubeconfig = controlPlane.clientKubeconfigs['kube-scheduler'] as string;

    const scheduler = spawnWithDeathSignal(join(binDir, 'kube-scheduler'), [
      `--kubeconfig=${schedulerKubeconfig}`,
      `--authentication-kubeconfig=${schedulerKubeconfig}`,
      `--authorization-kubeconfig=${schedulerKubeconfig}`,
      '--secure-port=0',
      '--leader-elect=false',
    ], join(runDir, 'kube-scheduler.log'));
    children.push(scheduler);

    const [kubeletPort, kubeletHealthzPort] = await freePorts(2);
    const cniBinDir = join(runDir, 'cni/bin');
    const cniConfDir = join(runDir, 'cni/net.d');
    mkdirSync(cniBinDir, { recursive: true });
    mkdirSync(cniConfDir, { recursive: true });
    mkdirSync(join(runDir, 'containerd'), { recursive: true });
    mkdirSync(join(runDir, 'kubelet/pki'), { recursive: true });
    // Only the two plugins the network uses, none of the host's others.
    writeFileSync(join(cniBinDir, 'loopback'), readFileSync('/usr/lib/cni/loopback'), { mode: 0o755 });
    writeFileSync(join(cniBinDir, 'lo-eth0'), readFileSync(join(nodeDir, 'cni-lo-eth0')), { mode: 0o755 });
    writeFileSync(join(cniConfDir, '10-lo-eth0.conflist'), cniNetworkConfig());
    const config = { runDir, pauseImage: testImages.pause, cgroupRoot, kubeletPort: kubeletPort!, kubeletHealthzPort: kubeletHealthzPort!, cniBinDir, cniConfDir };
    writeFileSync(join(runDir, 'containerd.toml'), containerdConfig(config));
    writeFileSync(join(runDir, 'kubelet-config.yaml'), kubeletConfig(config));
    writeFileSync(join(runDir, 'kubelet.kubeconfig'), readFileSync(kubeletKubeconfig));
    for (const hierarchy of cgroupHierarchies()) mkdirSync(join(hierarchy, cgroupRoot), { recursive: true });

    namespaceLauncher = spawnWithDeathSignal('unshare', [
      '--mount', '--propagation', 'private', '--pid', '--fork', '--mount-proc',
      // If unshare dies (its parent died), PID 1 is told to stop.
      '--kill-child=SIGTERM',
      'bash', join(nodeDir, 'node-namespace.sh'), runDir, join(binDir, 'kubelet'), imagesDir,
    ], join(runDir, 'namespace.log'));
    const namespaceExited = new AbortController();
    namespaceLauncher.once('exit', () =>
      namespaceExited.abort(new Error(`the node namespace exited; namespace log:\n${logTail(join(runDir, 'namespace.log'))}\nkubelet log:\n${logTail(join(runDir, 'kubelet.log'))}\ncontainerd log:\n${logTail(join(runDir, 'containerd.log'))}`)),
    );
    const core = controlPlane.kubeConfig.makeApiClient(k8s.CoreV1Api);
    await waitFor(
      async () => {
        const node = await core.readNode({ name: nodeName });
        const ready = node.status?.conditions?.find((condition) => condition.type === 'Ready');
        const taints = node.spec?.taints ?? [];
        if (ready?.status === 'True' && taints.length === 0) return true;
        throw new Error(`Ready=${ready?.status} (${ready?.message}), taints ${JSON.stringify(taints)}`);
      },
      { description: `node ${nodeName} Ready and untainted`, timeoutMs: 180_000, intervalMs: 250, signal: namespaceExited.signal },
    ).catch((error: unknown) => {
      throw new Error(`${error instanceof Error ? error.message : String(error)}\nkubelet log:\n${logTail(join(runDir, 'kubelet.log'), 15)}`);
    });
    const nodeReadyMs = Date.now() - startedAt;
    provisioner = await startLocalVolumeProvisioner({
      kubeConfig: controlPlane.kubeConfig,
      volumesDir: join(runDir, 'volumes'),
      nodeName,
      storageClassName: 'e2e-local',
    });

    const cp = controlPlane;
    return {
      controlPlane: cp,
      kubeConfig: cp.kubeConfig,
      kubeconfigPath: cp.kubeconfigPath,
      kubectlPath: join(cp.binDir, 'kubectl'),
      images: testImages,
      storageClassName: provisioner.storageClassName,
      runDir,
      cgroupRoot,
      timings: { prerequisitesMs, controlPlaneMs, nodeReadyMs, totalMs: Date.now() - startedAt },
      logTail: (name, lines) => logTail(join(runDir, `${name}.log`), lines),
      // containerd's socket is a file of the run directory: reachable from the host, the unpacking happens in
      // containerd, inside the node's namespace.
      importImage: async (archive) =>
        void (await runScript('ctr', ['--address', join(runDir, 'containerd/containerd.sock'), '--namespace', 'k8s.io', 'images', 'import', archive], log)),
      stop,
      leftovers: () => ({
        processes: processesMentioning(runDir),
        mounts: mountsBelow(runDir),
        cgroups: cgroupHierarchies().map((hierarchy) => join(hierarchy, cgroupRoot)).filter((dir) => existsSync(dir)),
        directories: existsSync(runDir) ? [runDir] : [],
      }),
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
