// The admission handler answers the requests of one event-loop turn together: each must still get its own answer,
// log line and metrics, and a bug or a slow look-up in one must not touch the others.
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { staticNamespaceLabels } from '../../src/admission/namespace-labels.ts';
import { embeddedDefaultPolicies } from '../../src/policy/embedded-default.ts';
import { admissionHandler } from '../../src/webhook/admission-handler.ts';
import { reviewAdmission } from '../../src/webhook/mutate.ts';
import { answer, type AdmissionOutcome, type AdmissionReviewer, type AdmissionSources } from '../../src/webhook/review.ts';
import { admissionReviewFor, decodePatch, sandboxPodFor } from '../fixtures/pods.ts';

const sources: AdmissionSources = { policies: embeddedDefaultPolicies(), namespaceLabels: staticNamespaceLabels(undefined) };

function recorder() {
  const lines: Record<string, unknown>[] = [];
  const observed: { uid: string; result: string; durationSeconds: number }[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  const observe = (_webhook: string, outcome: AdmissionOutcome, durationSeconds: number) =>
    observed.push({ uid: outcome.review.response.uid, result: outcome.result, durationSeconds });
  return { lines, observed, logger, observe };
}

const uidOf = (index: number) => `00000000-0000-4000-8000-${String(index).padStart(12, '0')}`;

describe('admission handler', () => {
  it('answers requests of the same turn each with its own patch, log line and metrics, all answers first', async () => {
    const { lines, observed, logger, observe } = recorder();
    const logged = lines.length;
    const handle = admissionHandler('mutate', reviewAdmission, () => sources, logger, observe);
    const users = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank'];
    const answers = new Map<string, any>();
    // All submitted before any is answered: one batch.
    const settled = users.map((user, index) =>
      handle(admissionReviewFor(sandboxPodFor(user), { uid: uidOf(index) }), (text) => {
        // Stage by stage: no log line is written before every answer of the turn is out.
        expect(lines.length).toBe(logged);
        answers.set(user, JSON.parse(text));
      }),
    );
    expect(answers.size).toBe(0);
    await Promise.all(settled);
    users.forEach((user, index) => {
      const response = answers.get(user).response;
      expect(response.uid).toBe(uidOf(index));
      expect(response.allowed).toBe(true);
      const volumes = decodePatch(response.patch).find((operation: any) => operation.path === '/spec/volumes') as any;
      const claimName: string = volumes.value[0].persistentVolumeClaim.claimName;
      expect(claimName).toContain(`-${user}-t1-`);
    });
    expect(observed.map((entry) => entry.uid)).toEqual(users.map((_, index) => uidOf(index)));
    for (const entry of observed) {
      expect(entry.result).toBe('mutated');
      expect(entry.durationSeconds).toBeGreaterThan(0);
    }
    expect(lines.map((line) => [line.uid, line.msg, line.webhook])).toEqual(users.map((_, index) => [uidOf(index), 'pod mutated', 'mutate']));
  });

  it('fails only the request whose answer breaks, and answers one that waits on a look-up when it returns', async () => {
    const { lines, logger, observe } = recorder();
    let releaseLookup: (outcome: AdmissionOutcome) => void = () => undefined;
    const reviewer: AdmissionReviewer = (body) => {
      const uid = (body as { request: { uid: string } }).request.uid;
      if (uid === 'bug') throw new Error('a bug in this one');
      if (uid === 'slow') return new Promise<AdmissionOutcome>((resolve) => (releaseLookup = resolve));
      return { result: 'unchanged', review: answer(uid, { allowed: true }) };
    };
    const handle = admissionHandler('validate', reviewer, () => sources, logger, observe);
    const sent: string[] = [];
    const send = (text: string) => sent.push(JSON.parse(text).response.uid);
    const outcomes = ['first', 'bug', 'slow', 'last'].map((uid) => handle({ request: { uid } }, send).then(() => 'ok', (error: Error) => error.message));
    await expect(outcomes[0]).resolves.toBe('ok');
    await expect(outcomes[1]).resolves.toBe('a bug in this one');
    await expect(outcomes[3]).resolves.toBe('ok');
    // The slow one holds nobody up, and is answered once its look-up returns.
    expect(sent).toEqual(['first', 'last']);
    releaseLookup({ result: 'unchanged', review: answer('slow', { allowed: true }) });
    await expect(outcomes[2]).resolves.toBe('ok');
    expect(sent).toEqual(['first', 'last', 'slow']);
    expect(lines.map((line) => line.uid)).toEqual(['first', 'last', 'slow']);
  });

  it('rejects a request whose answer cannot be sent, and still answers the others of its turn', async () => {
    const { logger } = recorder();
    const handle = admissionHandler('mutate', reviewAdmission, () => sources, logger);
    const delivered: string[] = [];
    const broken = handle(admissionReviewFor(sandboxPodFor('alice'), { uid: uidOf(1) }), () => {
      throw new Error('socket gone');
    });
    const fine = handle(admissionReviewFor(sandboxPodFor('bob'), { uid: uidOf(2) }), (text) => delivered.push(JSON.parse(text).response.uid));
    await expect(broken).rejects.toThrow('socket gone');
    await fine;
    expect(delivered).toEqual([uidOf(2)]);
  });
});
