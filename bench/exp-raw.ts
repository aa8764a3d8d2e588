import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { reviewAdmission } from '../src/admission/admission-review.ts';
import { embeddedDefaultPolicies } from '../src/policy/embedded-default.ts';
import { staticNamespaceLabels } from '../src/k8s/namespace-labels.ts';
const [certFile, keyFile] = process.argv.slice(2);
const sources = { policies: embeddedDefaultPolicies(), namespaceLabels: staticNamespaceLabels(undefined) };
const logger = pino({ base: { component: 'webhook' } });
const server = createServer({ cert: readFileSync(certFile!), key: readFileSync(keyFile!) }, (request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', async () => {
    const outcome = await reviewAdmission(JSON.parse(Buffer.concat(chunks).toString('utf8')), sources);
    const answer = JSON.stringify(outcome.review);
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) });
    response.end(answer);
    if (process.env.LOG && outcome.result !== 'skipped') logger.info({ uid: outcome.review.response.uid, namespace: outcome.request?.namespace, result: outcome.result, policy: outcome.plan?.policyName, claims: outcome.plan?.claims.map((c) => c.name) }, 'pod mutated');
  });
});
server.keepAliveTimeout = 120_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ msg: 'webhook server listening', port: (server.address() as AddressInfo).port })}\n`));
process.once('SIGTERM', () => { server.close(); server.closeAllConnections(); });
