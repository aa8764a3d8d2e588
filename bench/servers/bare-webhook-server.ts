// A bare Node HTTPS mutating webhook, as a reference for what any Node webhook costs through the API server: parse
// the review, structuredClone the object, change it (one annotation), diff with fast-json-patch, answer the patch.
// Usage: node bare-webhook-server.ts CERT_FILE KEY_FILE
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import jsonPatch from 'fast-json-patch';

const [certFile, keyFile] = process.argv.slice(2);
if (!certFile || !keyFile) throw new Error('usage: bare-webhook-server.ts CERT_FILE KEY_FILE');

export const bareAnnotation = 'bench.sandbox-storage.io/bare-webhook';

const server = createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile), minVersion: 'TLSv1.2' }, (request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    const review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { request: { uid: string; object: { metadata?: Record<string, unknown> } } };
    const original = review.request.object;
    const mutated = structuredClone(original);
    mutated.metadata ??= {};
    mutated.metadata.annotations = { ...(mutated.metadata.annotations as Record<string, string> | undefined), [bareAnnotation]: 'true' };
    const operations = jsonPatch.compare(original, mutated);
    const answer: Record<string, unknown> = { uid: review.request.uid, allowed: true };
    if (operations.length > 0) {
      answer.patchType = 'JSONPatch';
      answer.patch = Buffer.from(JSON.stringify(operations)).toString('base64');
    }
    const body = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: answer });
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    response.end(body);
  });
});
server.keepAliveTimeout = 120_000;
server.headersTimeout = 125_000;
server.listen(0, '127.0.0.1', () => {
  const port = (server.address() as AddressInfo).port;
  process.stdout.write(`${JSON.stringify({ msg: 'webhook server listening', port })}\n`);
});
process.once('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
});
