// The webhook server with the embedded default policy behind one of two routers, for the express A/B: `express`
// (what serve ships) or `plain` (a bare node:https dispatch to the same admission handlers). Everything else —
// handlers, body reading, TLS, logging — is the product's, so the difference is what express costs.
// Usage: node listener-ab-server.ts express|plain CERT_FILE KEY_FILE
import { openSync } from 'node:fs';
import pino from 'pino';
import { staticNamespaceLabels } from '../../src/admission/namespace-labels.ts';
import { embeddedDefaultPolicies } from '../../src/policy/embedded-default.ts';
import { admissionHandlers, serveAdmission, type AppOptions, type RequestListener } from '../../src/webhook/app.ts';
import { startWebhookServer } from '../../src/webhook/webhook-server.ts';

const [router, certFile, keyFile] = process.argv.slice(2);
if ((router !== 'express' && router !== 'plain') || !certFile || !keyFile) throw new Error('usage: listener-ab-server.ts express|plain CERT_FILE KEY_FILE');

function plainListener(options: AppOptions): RequestListener {
  const { mutate, validate } = admissionHandlers(options);
  return (request, response) => {
    const path = (request.url ?? '').split('?')[0];
    if (request.method === 'POST' && path === '/mutate') return serveAdmission(request, response, mutate, options);
    if (request.method === 'POST' && path === '/validate') return serveAdmission(request, response, validate, options);
    response.writeHead(404).end();
  };
}

// Logs are written as serve writes them (one line per admission), to /dev/null, so both variants pay the same.
const logger = pino({ level: 'info' }, pino.destination({ fd: openSync('/dev/null', 'w') }));
const policies = embeddedDefaultPolicies();
const server = await startWebhookServer({
  tls: { certFile, keyFile },
  host: '127.0.0.1',
  port: 0,
  logger,
  sources: () => ({ policies, namespaceLabels: staticNamespaceLabels(undefined) }),
  ...(router === 'plain' ? { requestListener: plainListener } : {}),
});
process.stdout.write(`${JSON.stringify({ msg: 'webhook server listening', port: server.address.port })}\n`);
process.once('SIGTERM', () => void server.stop());
