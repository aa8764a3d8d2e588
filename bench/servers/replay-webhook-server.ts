// A bare Node HTTPS mutating webhook that answers every review with a fixed response (read from a JSON file: the
// `response` of an AdmissionReview without its uid), e.g. the answer serve gave for the bench's sandbox Pod. It
// separates what the API server does with an answer from what producing it costs the webhook.
// Usage: node replay-webhook-server.ts CERT_FILE KEY_FILE RESPONSE_FILE
import { readFileSync } from 'node:fs';
import { serveAdmissions } from './minimal-admission-server.ts';

const responseFile = process.argv[4];
if (!responseFile) throw new Error('usage: replay-webhook-server.ts CERT_FILE KEY_FILE RESPONSE_FILE');
const fields = JSON.stringify(JSON.parse(readFileSync(responseFile, 'utf8'))).slice(1); // `"allowed":...}`

serveAdmissions('replay-webhook-server.ts', (text) => {
  const review = JSON.parse(text) as { request: { uid: string } };
  return `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":${JSON.stringify(review.request.uid)},${fields}}`;
});
