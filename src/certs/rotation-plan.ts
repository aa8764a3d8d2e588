// Decides the next step for self-managed webhook certificates. Pure: the caller reads the Secret and acts.
//
// CA rotation is staged so the API server never meets a certificate it does not trust: first the new CA joins the
// trust bundle (caBundle) next to the old one, and only after the bundle had time to reach the API server is the
// serving certificate re-issued from the new CA. The old CA stays in the bundle until it expires.

export interface RotationSettings {
  caValidityMs: number;
  leafValidityMs: number;
  /** Time the patched caBundle needs to reach every API server before a certificate from a new CA is served. */
  caPropagationDelayMs: number;
}

/** What rotation needs to know about the stored certificates (times in epoch milliseconds). */
export interface StoredCertificates {
  caNotAfter: number;
  leafNotAfter: number;
  leafSignedByCurrentCa: boolean;
  /** When the current CA joined the bundle; undefined for a CA from the first issue. */
  caRotatedAt: number | undefined;
  expiredBundleCertificates: number;
  /** The serving certificate names every DNS name and IP address it should. */
  leafNamesMatch: boolean;
}

export type RotationStep =
  | { action: 'create'; reason: string }
  | { action: 'rotate-ca'; reason: string }
  | { action: 'reissue-leaf'; reason: string }
  | { action: 'prune-bundle'; reason: string }
  | { action: 'none'; reason: string };

/** Renew when less than this fraction of the configured lifetime is left (cert-manager renews at 2/3 too). */
const renewWhenRemaining = 1 / 3;

/** How long before expiry a certificate of this lifetime is renewed. */
export function renewalWindowMs(validityMs: number): number {
  return validityMs * renewWhenRemaining;
}

export function planRotation(stored: StoredCertificates | undefined, now: number, settings: RotationSettings): RotationStep {
  if (stored === undefined) return { action: 'create', reason: 'no usable certificates stored' };
  if (stored.caNotAfter <= now || stored.leafNotAfter <= now) {
    // Nothing that expired can serve anyway: start over at once rather than stage a rotation.
    return { action: 'create', reason: 'the stored CA or serving certificate has expired' };
  }
  if (!stored.leafSignedByCurrentCa) {
    const waited = now - (stored.caRotatedAt ?? 0);
    if (waited >= settings.caPropagationDelayMs) {
      return { action: 'reissue-leaf', reason: 'the new CA has had time to reach the API servers' };
    }
    return { action: 'none', reason: 'waiting for the new CA to reach the API servers' };
  }
  if (stored.caNotAfter - now < renewalWindowMs(settings.caValidityMs)) {
    // Nothing can renew the serving certificate during the wait (the Secret keeps only the new CA's key): one that
    // would not outlast it with its own renewal window left is renewed now, or it is served to expiry and past.
    if (stored.leafNotAfter - now < renewalWindowMs(settings.leafValidityMs) + settings.caPropagationDelayMs) {
      return { action: 'reissue-leaf', reason: 'the serving certificate must outlast the wait for the new CA' };
    }
    return { action: 'rotate-ca', reason: 'the CA is close to expiry' };
  }
  if (stored.leafNotAfter - now < renewalWindowMs(settings.leafValidityMs)) {
    return { action: 'reissue-leaf', reason: 'the serving certificate is close to expiry' };
  }
  if (!stored.leafNamesMatch) return { action: 'reissue-leaf', reason: 'the serving certificate names changed' };
  if (stored.expiredBundleCertificates > 0) return { action: 'prune-bundle', reason: 'an old CA in the bundle expired' };
  return { action: 'none', reason: 'certificates are current' };
}
