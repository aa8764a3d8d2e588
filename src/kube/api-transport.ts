// HTTP/1.1 keep-alive connections to the API server over node:http(s), for the requests and watches of the
// long-running paths. client-node's own transport (undici fetch over HTTP/2, web streams) builds a dispatcher and
// re-reads the TLS files on every request, and was a sixth of the controller's CPU (docs/performance.md).
// Credentials still come from client-node: KubeConfig#applyToHTTPSOptions fills CA, client certificate and key,
// the Authorization header (token, token file, exec and auth-provider plugins), basic auth, servername and
// insecure-skip-tls-verify, exactly as for its own clients.
import http from 'node:http';
import https from 'node:https';
import type * as k8s from '@kubernetes/client-node';
import { sameOptions } from './kube-config.ts';

export interface TransportRequest {
  method: string;
  /** Path and query, e.g. `/api/v1/pods?watch=true`. */
  path: string;
  headers: Record<string, string>;
  body?: string;
  /** Long-lived (watches): a pool of its own, so that they never hold the sockets requests queue for. */
  watch?: boolean;
  /** Inactivity limit: no byte for this long fails the request. */
  timeoutMs: number;
  timeoutError: () => Error;
  signal?: AbortSignal;
}

export interface ApiTransport {
  /** The response, headers read, body not yet: the caller consumes it. Rejects on connection errors. */
  request(request: TransportRequest): Promise<http.IncomingMessage>;
  /** Re-reads the credentials before the next request (after a 401: a token or certificate may have changed). */
  refresh(): void;
}

export interface TransportOptions {
  /** How long credentials read through client-node are used before they are read again. */
  credentialsTtlMs?: number;
}

/**
 * What client-node's applyToHTTPSOptions re-reads on every call (CA, certificate and key files) is read at most
 * once per TTL: a rotated file is picked up within a second, without a file read per request. Token files are
 * client-node's FileAuth's, which re-reads them once a minute itself, as client-go does.
 */
const defaultCredentialsTtlMs = 1_000;
/** Sockets kept per pool for requests; more requests at once wait for one (the controller runs 32 workers). */
const requestSockets = 64;
/** Idle kept-alive sockets are closed after this, before the API server's own idle limit (90 s). */
const idleSocketMs = 30_000;

interface Credentials {
  headers: Record<string, string>;
  auth?: string;
  tls: https.AgentOptions;
  /** client-node's proxy agent, used as is when the cluster names a proxy. */
  proxyAgent?: http.Agent;
  readAt: number;
}

interface Pool {
  tls: https.AgentOptions;
  requests: http.Agent;
  watches: http.Agent;
}

// One transport per KubeConfig, so that every apiRequests() and watch built from it shares the connections.
const transports = new WeakMap<k8s.KubeConfig, ApiTransport>();

export function apiTransport(config: k8s.KubeConfig, options: TransportOptions = {}): ApiTransport {
  let transport = transports.get(config);
  if (transport === undefined) {
    transport = createTransport(config, options.credentialsTtlMs ?? defaultCredentialsTtlMs);
    transports.set(config, transport);
  }
  return transport;
}

function createTransport(config: k8s.KubeConfig, credentialsTtlMs: number): ApiTransport {
  let credentials: Credentials | undefined;
  let reading: Promise<Credentials> | undefined;
  let pool: Pool | undefined;

  const readCredentials = async (): Promise<Credentials> => {
    const options: https.RequestOptions & { headers?: Record<string, unknown> } = {};
    await config.applyToHTTPSOptions(options);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(options.headers ?? {})) if (value !== undefined) headers[name] = String(value);
    const { ca, cert, key, pfx, passphrase, rejectUnauthorized, servername } = options;
    const tls = Object.fromEntries(Object.entries({ ca, cert, key, pfx, passphrase, rejectUnauthorized, servername }).filter(([, value]) => value !== undefined));
    const proxied = config.getCurrentCluster()?.proxyUrl ? (options.agent as http.Agent | undefined) : undefined;
    return { headers, ...(options.auth ? { auth: options.auth } : {}), tls, ...(proxied ? { proxyAgent: proxied } : {}), readAt: Date.now() };
  };

  const current = async (): Promise<Credentials> => {
    if (credentials !== undefined && Date.now() - credentials.readAt < credentialsTtlMs) return credentials;
    // One read for all the requests that find the credentials stale at once.
    reading ??= readCredentials().finally(() => {
      reading = undefined;
    });
    credentials = await reading;
    return credentials;
  };

  const poolFor = (tls: https.AgentOptions, secure: boolean): Pool => {
    if (pool !== undefined && sameOptions(pool.tls, tls)) return pool;
    const previous = pool;
    const make = (watch: boolean) => {
      // TCP keep-alive probes after 30 s idle, as client-go and client-node (not Node's default of 1 s).
      const agentOptions = { keepAlive: true, keepAliveMsecs: 30_000, timeout: idleSocketMs, scheduling: 'lifo' as const, ...(watch ? { maxFreeSockets: 4 } : { maxSockets: requestSockets, maxFreeSockets: requestSockets }) };
      const agent = secure ? new https.Agent({ ...tls, ...agentOptions }) : new http.Agent(agentOptions);
      // The default name strings together the CA, certificate and key on every request; an agent here serves one
      // TLS configuration, so the address tells its sockets apart.
      agent.getName = (target) => `${target?.host ?? ''}:${target?.port ?? ''}`;
      return agent;
    };
    pool = { tls, requests: make(false), watches: make(true) };
    if (previous !== undefined) {
      retire(previous.requests);
      retire(previous.watches);
    }
    return pool;
  };

  let server: { url: string; base: URL; secure: boolean } | undefined;
  const serverOf = () => {
    const url = config.getCurrentCluster()?.server;
    if (!url) throw new Error('the kubeconfig has no current cluster');
    if (server?.url !== url) {
      const base = new URL(url);
      if (base.protocol !== 'https:' && base.protocol !== 'http:') throw new Error(`the kubeconfig's server ${url} is neither https:// nor http://`);
      server = { url, base, secure: base.protocol === 'https:' };
    }
    return server;
  };

  return {
    refresh() {
      credentials = undefined;
    },
    async request(request) {
      const { base, secure } = serverOf();
      const { headers, auth, tls, proxyAgent } = await current();
      const agents = proxyAgent === undefined ? poolFor(tls, secure) : undefined;
      const agent = proxyAgent ?? (request.watch ? agents!.watches : agents!.requests);
      // The server URL may carry a path prefix (a proxy in front of the API server).
      const prefix = base.pathname.replace(/\/$/, '');
      const send = secure ? https.request : http.request;
      const attempt = (retry: boolean): Promise<http.IncomingMessage> =>
        new Promise((resolve, reject) => {
          const outgoing = send({
            protocol: base.protocol,
            hostname: base.hostname.replace(/^\[(.*)\]$/, '$1'),
            port: base.port || (secure ? 443 : 80),
            method: request.method,
            path: prefix + request.path,
            headers: { ...request.headers, ...headers, ...(request.body === undefined ? {} : { 'Content-Length': Buffer.byteLength(request.body) }) },
            agent,
            timeout: request.timeoutMs,
            ...(auth ? { auth } : {}),
            ...(request.signal ? { signal: request.signal } : {}),
          });
          let response: http.IncomingMessage | undefined;
          outgoing.on('timeout', () => {
            // On the response first: else a body being read fails with a bare 'aborted', not with this.
            const error = request.timeoutError();
            response?.destroy(error);
            outgoing.destroy(error);
          });
          outgoing.on('response', (answer: http.IncomingMessage) => {
            response = answer;
            resolve(answer);
          });
          outgoing.on('error', (error) => {
            // A kept-alive socket the server closed just as it was reused: nothing was answered, a read is safe to
            // send again (a write might have happened, so it is not).
            if (retry && response === undefined && outgoing.reusedSocket && request.method === 'GET' && isConnectionReset(error)) resolve(attempt(false));
            else reject(error);
          });
          outgoing.end(request.body);
        });
      return attempt(true);
    },
  };
}

/** A pool of superseded credentials: idle sockets close now, busy ones when their request is done. */
function retire(agent: http.Agent): void {
  agent.keepSocketAlive = () => false;
  for (const sockets of Object.values(agent.freeSockets)) for (const socket of sockets ?? []) socket.destroy();
}

function isConnectionReset(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ECONNRESET' || code === 'EPIPE';
}
