// A second, independent mutating webhook that appends a sidecar container, so tests can watch the API server
// reinvoke ours after another webhook changed the Pod.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { writeServingCertificate, type ServingCertificate } from './tls.ts';

export interface SidecarWebhook {
  url: string;
  tls: ServingCertificate;
  calls: number;
  stop(): Promise<void>;
}

export async function startSidecarWebhook(sidecarName: string): Promise<SidecarWebhook> {
  const tls = await writeServingCertificate();
  const state = { calls: 0 };
  const server: Server = createServer({ cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) }, (request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      state.calls += 1;
      const review = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      const containers: Array<{ name: string }> = review.request.object.spec.containers;
      const patch = containers.some((container) => container.name === sidecarName)
        ? []
        : [{ op: 'add', path: '/spec/containers/-', value: { name: sidecarName, image: 'registry.example/sidecar:1' } }];
      const answer: Record<string, unknown> = { uid: review.request.uid, allowed: true };
      if (patch.length > 0) {
        answer.patchType = 'JSONPatch';
        answer.patch = Buffer.from(JSON.stringify(patch)).toString('base64');
      }
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: answer }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://127.0.0.1:${port}`,
    tls,
    get calls() {
      return state.calls;
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await tls.remove();
    },
  };
}
