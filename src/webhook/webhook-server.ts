// HTTPS transport: TLS from files with live reload, keep-alive tuned for the API server, graceful shutdown.
import { createServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from 'pino';
import type { AdmissionSources } from './review.ts';
import type { AdmissionObserver } from './admission-handler.ts';
import { createRequestListener, type AppOptions, type RequestListener } from './app.ts';
import { readTlsMaterial, watchTlsMaterial, type CertificateFiles } from './tls-files.ts';
import { warmUpAdmissions } from './warm-up.ts';

export interface WebhookServerOptions {
  tls: CertificateFiles;
  host: string;
  port: number;
  /** SO_REUSEPORT: several processes (replicas on one host network) listen on the same port. Linux only. */
  reusePort?: boolean;
  sources: () => AdmissionSources;
  /** Extra readiness condition, e.g. policies loaded. */
  isReady?: () => boolean;
  logger: Logger;
  /** Largest accepted AdmissionReview; the API server's own request limit is 3 MiB. */
  maxBodyBytes?: number;
  observe?: AdmissionObserver;
  /** How long in-flight requests may take to finish on shutdown. */
  shutdownGraceMs?: number;
  /** Called with each certificate served (at start and after every reload). */
  onCertificate?: (certificatePem: string) => void;
  /** Synthetic admissions run before listening, so that the first real ones meet optimised code (see warm-up.ts). */
  warmUpRounds?: number;
  /** Builds the request listener (default: the express app); the bench swaps in a plain router to measure express. */
  requestListener?: (options: AppOptions) => RequestListener;
}

export interface WebhookServer {
  /** The bound address (port 0 picks a free port). */
  address: AddressInfo;
  stop(): Promise<void>;
}

// The API server keeps idle webhook connections for 90 s; closing ours first would make it hit dead sockets.
const keepAliveTimeoutMs = 120_000;
const headersTimeoutMs = 125_000;

export async function startWebhookServer(options: WebhookServerOptions): Promise<WebhookServer> {
  const logger = options.logger;
  const material = await readTlsMaterial(options.tls);
  if (options.warmUpRounds) {
    const started = performance.now();
    const answers = await warmUpAdmissions(options.warmUpRounds);
    logger.debug({ answers: Object.fromEntries(answers), durationMs: Math.round(performance.now() - started) }, 'admission path warmed up');
  }
  options.onCertificate?.(material.cert);
  let listening = false;
  let stopping = false;
  const listener = (options.requestListener ?? createRequestListener)({
    sources: options.sources,
    logger,
    isReady: () => listening && !stopping && (options.isReady?.() ?? true),
    maxBodyBytes: options.maxBodyBytes ?? 3 * 1024 * 1024,
    observe: options.observe,
    // server.close() only drops the connections idle at that moment; a kept-alive one that answers a request
    // afterwards must close itself, or it stays open until the API server drops it (90 s) or the grace ends.
    closeConnections: () => stopping,
  });
  const server: Server = createServer({ cert: material.cert, key: material.key, minVersion: 'TLSv1.2' }, listener);
  server.keepAliveTimeout = keepAliveTimeoutMs;
  server.headersTimeout = headersTimeoutMs;
  server.requestTimeout = 30_000;
  const sockets = new Set<Socket>();
  server.on('secureConnection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('tlsClientError', (error) => logger.debug({ err: error }, 'TLS handshake failed'));

  const watcher = watchTlsMaterial(options.tls, material, logger, (next) => {
    server.setSecureContext({ cert: next.cert, key: next.key, minVersion: 'TLSv1.2' });
    options.onCertificate?.(next.cert);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: options.port, host: options.host, reusePort: options.reusePort ?? false }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  listening = true;
  const address = server.address() as AddressInfo;
  logger.info({ host: address.address, port: address.port }, 'webhook server listening');

  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    watcher.close();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const grace = setTimeout(() => {
      logger.warn({ open: sockets.size }, 'shutdown grace period over: closing remaining connections');
      server.closeAllConnections();
    }, options.shutdownGraceMs ?? 10_000);
    await closed;
    clearTimeout(grace);
    logger.info('webhook server stopped');
  };
  return { address, stop };
}
