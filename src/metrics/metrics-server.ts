// Plain-HTTP /metrics on its own port, so scraping needs no webhook certificate and never competes with admissions.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';

export interface MetricsServer {
  address: AddressInfo;
  stop(): Promise<void>;
}

export interface MetricsListen {
  host: string;
  port: number;
  /** SO_REUSEPORT, as the webhook server (replicas on one host network share the port). */
  reusePort?: boolean;
}

export async function startMetricsServer(registry: Registry, at: MetricsListen, logger: Logger): Promise<MetricsServer> {
  const server: Server = createServer((request, response) => {
    if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (error: unknown) => {
        logger.error({ err: error }, 'cannot render metrics');
        response.writeHead(500, { 'content-type': 'text/plain' }).end('cannot render metrics\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: at.port, host: at.host, reusePort: at.reusePort ?? false }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  logger.info({ host: address.address, port: address.port }, 'metrics server listening');
  return {
    address,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
