// The machine's ceiling for this protocol: a minimal Node HTTPS server that reads the body, parses the JSON and
// answers a fixed AdmissionReview (allowed, the request's uid). No framework, no policy, no patch.
// Usage: node ceiling-server.ts CERT_FILE KEY_FILE
import { serveAdmissions } from './minimal-admission-server.ts';

serveAdmissions('ceiling-server.ts', (text) => {
  const review = JSON.parse(text) as { request?: { uid?: string } };
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    response: { uid: review.request?.uid ?? '', allowed: true },
  });
});
