// A bare Node HTTPS mutating webhook, as a reference for what any Node webhook costs through the API server: parse
// the review, structuredClone the object, change it (one annotation), diff with fast-json-patch, answer the patch.
// Usage: node bare-webhook-server.ts CERT_FILE KEY_FILE
import jsonPatch from 'fast-json-patch';
import { serveAdmissions } from './minimal-admission-server.ts';

// bench/scenarios/apiserver-overhead.ts checks for the same annotation (importing this script would start the server).
const bareAnnotation = 'bench.sandbox-storage.io/bare-webhook';

serveAdmissions('bare-webhook-server.ts', (text) => {
  const review = JSON.parse(text) as { request: { uid: string; object: { metadata?: Record<string, unknown> } } };
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
  return JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: answer });
});
