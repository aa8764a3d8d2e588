import { describe, expect, it } from 'vitest';
import { type AdmissionReviewResponse, answer, errorReview, reviewJson } from '../../src/webhook/review.ts';

const patch = Buffer.from(JSON.stringify([{ op: 'add', path: '/metadata/annotations', value: { a: 'b\n"c"' } }])).toString('base64');

describe('reviewJson', () => {
  it.each<[string, AdmissionReviewResponse]>([
    ['a bare allowance', answer('u-1', { allowed: true })],
    ['a bare allowance with a uid that needs escaping', answer('u "2"\\\n', { allowed: true })],
    ['an allowance with warnings', answer('u-3', { allowed: true, warnings: ['careful "here"'] })],
    ['a patch with warnings and annotations', answer('u-4', { allowed: true, patchType: 'JSONPatch', patch, warnings: ['w'], auditAnnotations: { policy: 'p' } })],
    ['a patch alone', answer('u-5', { allowed: true, patchType: 'JSONPatch', patch })],
    ['a denial', answer('u-6', { allowed: false, status: { code: 403, reason: 'Forbidden', message: 'no "way"' } })],
    ['an error', errorReview('', 400, 'bad')],
  ])('serialises %s to the same JSON value as JSON.stringify', (_, review) => {
    expect(JSON.parse(reviewJson(review))).toEqual(JSON.parse(JSON.stringify(review)));
  });

  it('answers a bare allowance with exactly the minimal document', () => {
    expect(reviewJson(answer('u-1', { allowed: true }))).toBe(
      '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"u-1","allowed":true}}',
    );
  });
});
