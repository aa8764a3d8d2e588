import { describe, expect, it } from 'vitest';
import { alternativeNames, certificateFacts, isSignedBy, joinPemBundle, splitPemBundle } from '../../src/certs/inspect.ts';
import { createCertificateAuthority, loadCertificateAuthority } from '../../src/certs/issue.ts';
import { planRotation, type StoredCertificates } from '../../src/certs/rotation-plan.ts';

const second = 1_000;
const settings = { caValidityMs: 300 * second, leafValidityMs: 90 * second, caPropagationDelayMs: 10 * second };
const now = 1_000_000 * second;
const healthy: StoredCertificates = {
  caNotAfter: now + 250 * second,
  leafNotAfter: now + 80 * second,
  leafSignedByCurrentCa: true,
  caRotatedAt: now - 50 * second,
  expiredBundleCertificates: 0,
  leafNamesMatch: true,
};

describe('planRotation', () => {
  it('creates everything when nothing usable is stored', () => {
    expect(planRotation(undefined, now, settings).action).toBe('create');
  });

  it('does nothing while both certificates have more than a third of their lifetime left', () => {
    expect(planRotation(healthy, now, settings)).toEqual({ action: 'none', reason: 'certificates are current' });
  });

  it('renews the serving certificate with less than a third of its lifetime left', () => {
    expect(planRotation({ ...healthy, leafNotAfter: now + 29 * second }, now, settings).action).toBe('reissue-leaf');
    expect(planRotation({ ...healthy, leafNotAfter: now + 31 * second }, now, settings).action).toBe('none');
  });

  it('stages a new CA with less than a third of the CA lifetime left, before touching the serving certificate', () => {
    const step = planRotation({ ...healthy, caNotAfter: now + 99 * second, leafNotAfter: now + 10 * second }, now, settings);
    expect(step.action).toBe('rotate-ca');
  });

  it('serves a certificate of the new CA only after the bundle had time to propagate', () => {
    const staged = { ...healthy, leafSignedByCurrentCa: false, caRotatedAt: now - 9 * second };
    expect(planRotation(staged, now, settings)).toEqual({ action: 'none', reason: 'waiting for the new CA to reach the API servers' });
    expect(planRotation({ ...staged, caRotatedAt: now - 10 * second }, now, settings).action).toBe('reissue-leaf');
  });

  it('starts over when something already expired, since nothing can be served anyway', () => {
    expect(planRotation({ ...healthy, leafNotAfter: now }, now, settings).action).toBe('create');
    expect(planRotation({ ...healthy, caNotAfter: now - 1 }, now, settings).action).toBe('create');
  });

  it('re-issues when the names changed and prunes expired CAs from the bundle', () => {
    expect(planRotation({ ...healthy, leafNamesMatch: false }, now, settings).action).toBe('reissue-leaf');
    expect(planRotation({ ...healthy, expiredBundleCertificates: 1 }, now, settings).action).toBe('prune-bundle');
  });
});

describe('certificate inspection', () => {
  it('reloads a stored CA, issues from it, and tells which CA signed a certificate', async () => {
    const first = await createCertificateAuthority('first', 1);
    const second = await createCertificateAuthority('second', 1);
    const reloaded = await loadCertificateAuthority(first.certificatePem, first.privateKeyPem);
    const leaf = await reloaded.issue({ commonName: 'svc', dnsNames: ['svc.ns.svc'], ipAddresses: ['127.0.0.1'], usage: 'server', validDays: 30 / 86_400 });
    expect(await isSignedBy(leaf.certificatePem, first.certificatePem)).toBe(true);
    expect(await isSignedBy(leaf.certificatePem, second.certificatePem)).toBe(false);
    expect(alternativeNames(leaf.certificatePem)).toEqual(['dns:svc.ns.svc', 'ip:127.0.0.1']);
    const facts = await certificateFacts(leaf.certificatePem);
    expect(facts.notAfter.getTime() - Date.now()).toBeGreaterThan(25_000);
    expect(facts.notAfter.getTime() - Date.now()).toBeLessThanOrEqual(30_000);
    const bundle = joinPemBundle([first.certificatePem, second.certificatePem]);
    expect(splitPemBundle(bundle).map((pem) => pem.trim())).toEqual([first.certificatePem.trim(), second.certificatePem.trim()]);
  });
});
