// Reads what certificate rotation decides on: validity windows, and which CA signed a certificate.
import './issue.ts'; // sets the crypto provider @peculiar/x509 needs
import * as x509 from '@peculiar/x509';

export interface CertificateFacts {
  notBefore: Date;
  notAfter: Date;
  /** Hex SHA-256 of the DER encoding: tells certificates apart without comparing PEM text. */
  fingerprint: string;
}

export async function certificateFacts(pem: string): Promise<CertificateFacts> {
  const certificate = new x509.X509Certificate(pem);
  const thumbprint = await certificate.getThumbprint('SHA-256');
  return {
    notBefore: certificate.notBefore,
    notAfter: certificate.notAfter,
    fingerprint: Buffer.from(thumbprint).toString('hex'),
  };
}

/** Every certificate in a PEM bundle, in order. */
export function splitPemBundle(bundle: string): string[] {
  return bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)?.map((pem) => `${pem}\n`) ?? [];
}

/** One PEM bundle of certificates, each on its own lines. */
export function joinPemBundle(pems: string[]): string {
  return pems.map((pem) => `${pem.trim()}\n`).join('');
}

/** True when `certificatePem` carries a valid signature by the CA `caPem`. */
export async function isSignedBy(certificatePem: string, caPem: string): Promise<boolean> {
  const certificate = new x509.X509Certificate(certificatePem);
  const ca = new x509.X509Certificate(caPem);
  if (certificate.issuer !== ca.subject) return false;
  return certificate.verify({ publicKey: ca, signatureOnly: true });
}

/** The certificate's subject alternative names as `dns:NAME` / `ip:ADDRESS`, sorted. */
export function alternativeNames(pem: string): string[] {
  const certificate = new x509.X509Certificate(pem);
  const extension = certificate.getExtension(x509.SubjectAlternativeNameExtension);
  return (extension?.names.toJSON() ?? []).map((name) => `${name.type}:${name.value}`).sort();
}
