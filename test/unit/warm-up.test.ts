import { request as httpsRequest } from 'node:https';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { staticNamespaceLabels } from '../../src/admission/namespace-labels.ts';
import { embeddedDefaultPolicies } from '../../src/policy/embedded-default.ts';
import { warmUpAdmissions } from '../../src/webhook/warm-up.ts';
import { startWebhookServer } from '../../src/webhook/webhook-server.ts';
import { admissionReviewFor, sandboxPod } from '../fixtures/pods.ts';
import { writeServingCertificate, type ServingCertificate } from '../harness/tls.ts';

describe('warmUpAdmissions', () => {
  it('runs the sandbox path of both webhooks, not their fast path', async () => {
    const results = await warmUpAdmissions(40);
    expect(results.get('mutate/mutated')).toBe(40);
    const validations = [...results].filter(([key]) => key.startsWith('validate/'));
    expect(validations).toEqual([['validate/unchanged', 40]]);
    expect([...results.keys()].filter((key) => /skipped|denied|error/.test(key))).toEqual([]);
  });

  it('does nothing for zero rounds', async () => {
    expect((await warmUpAdmissions(0)).size).toBe(0);
  });
});

describe('a webhook server that warms up', () => {
  let tls: ServingCertificate;
  const lines: Array<Record<string, unknown>> = [];
  const observed: string[] = [];
  let stop: (() => Promise<void>) | undefined;
  let port = 0;

  beforeAll(async () => {
    tls = await writeServingCertificate();
    const server = await startWebhookServer({
      tls: { certFile: tls.certFile, keyFile: tls.keyFile },
      host: '127.0.0.1',
      port: 0,
      warmUpRounds: 30,
      sources: () => ({ policies: embeddedDefaultPolicies(), namespaceLabels: staticNamespaceLabels(undefined) }),
      logger: pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) }),
      observe: (webhook, outcome) => observed.push(`${webhook}/${outcome.result}`),
    });
    stop = server.stop;
    port = server.address.port;
  });

  afterAll(async () => {
    await stop?.();
    await tls?.remove();
  });

  it('logs one summary and neither logs nor counts the synthetic admissions', () => {
    const summary = lines.find((line) => line.msg === 'admission path warmed up');
    expect(summary).toMatchObject({ answers: { 'mutate/mutated': expect.any(Number), 'validate/unchanged': 30 } });
    expect(lines.filter((line) => typeof line.uid === 'string')).toEqual([]);
    expect(observed).toEqual([]);
  });

  it('then answers real reviews, which are logged and counted', async () => {
    const review = admissionReviewFor(sandboxPod({ name: 'after-warm-up' }), { name: 'after-warm-up' });
    const body = JSON.stringify(review);
    const answer = await new Promise<{ response: { uid: string; allowed: boolean; patch?: string } }>((resolve, reject) => {
      const sent = httpsRequest(
        { host: '127.0.0.1', port, path: '/mutate', method: 'POST', ca: tls.caPem, agent: false, headers: { 'content-type': 'application/json' } },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString('utf8'))));
        },
      );
      sent.on('error', reject);
      sent.end(body);
    });
    expect(answer.response).toMatchObject({ uid: review.request.uid, allowed: true, patch: expect.any(String) });
    expect(observed).toEqual(['mutate/mutated']);
    expect(lines.filter((line) => line.uid === review.request.uid).map((line) => line.msg)).toEqual(['pod mutated']);
  });
});
