// Issues a throwaway certificate authority and serving/client certificates (ECDSA P-256).
// Used by the dev certificate script and the test control plane; Node's crypto cannot sign certificates.
// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata polyfill.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

// The library types its provider with the DOM Crypto type; Node's webcrypto implements the same interface.
x509.cryptoProvider.set(webcrypto as never);

const keyAlgorithm = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const signingAlgorithm = { name: 'ECDSA', hash: 'SHA-256' } as const;

export interface IssuedCertificate {
  certificatePem: string;
  privateKeyPem: string;
}

export interface CertificateAuthority extends IssuedCertificate {
  issue(request: LeafRequest): Promise<IssuedCertificate>;
}

export interface LeafRequest {
  commonName: string;
  /** Organisations become Kubernetes groups when the certificate authenticates a client. */
  organizations?: string[];
  dnsNames?: string[];
  ipAddresses?: string[];
  usage: 'server' | 'client';
  validDays?: number;
}

const day = 24 * 60 * 60 * 1000;

function randomSerial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] ?? 0) & 0x7f; // keep the serial positive
  return Buffer.from(bytes).toString('hex');
}

function validity(days: number): { notBefore: Date; notAfter: Date } {
  const now = Date.now();
  // Backdate a little so clocks that disagree by a few minutes still accept the certificate.
  return { notBefore: new Date(now - 5 * 60 * 1000), notAfter: new Date(now + days * day) };
}

function distinguishedName(commonName: string, organizations: string[] = []): string {
  const escape = (value: string) => value.replace(/([,+"\\<>;=])/g, '\\$1');
  return [`CN=${escape(commonName)}`, ...organizations.map((o) => `O=${escape(o)}`)].join(', ');
}

async function privateKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(pkcs8, 'PRIVATE KEY');
}

/** A fresh self-signed CA. `validDays` may be fractional (tests force short lifetimes to exercise rotation). */
export async function createCertificateAuthority(commonName: string, validDays = 365): Promise<CertificateAuthority> {
  const keys = (await webcrypto.subtle.generateKey(keyAlgorithm, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const caCertificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: distinguishedName(commonName),
    ...validity(validDays),
    signingAlgorithm,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });

  return {
    certificatePem: caCertificate.toString('pem'),
    privateKeyPem: await privateKeyPem(keys.privateKey),
    issue: issuer(caCertificate, keys.privateKey),
  };
}

/** A CA kept from earlier (e.g. in a Secret), to issue more certificates with. */
export async function loadCertificateAuthority(certificatePem: string, privateKeyPemText: string): Promise<CertificateAuthority> {
  const caCertificate = new x509.X509Certificate(certificatePem);
  const signingKey = await webcrypto.subtle.importKey(
    'pkcs8',
    x509.PemConverter.decodeFirst(privateKeyPemText),
    keyAlgorithm,
    true,
    ['sign'],
  );
  return { certificatePem, privateKeyPem: privateKeyPemText, issue: issuer(caCertificate, signingKey) };
}

function issuer(caCertificate: x509.X509Certificate, signingKey: webcrypto.CryptoKey): CertificateAuthority['issue'] {
  return async (request: LeafRequest): Promise<IssuedCertificate> => {
    const leafKeys = (await webcrypto.subtle.generateKey(keyAlgorithm, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const alternativeNames = [
      ...(request.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
      ...(request.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
    ];
    const extensions: x509.Extension[] = [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension(
        [request.usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth],
        false,
      ),
      await x509.AuthorityKeyIdentifierExtension.create(caCertificate, false),
    ];
    if (alternativeNames.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(alternativeNames, false));
    const certificate = await x509.X509CertificateGenerator.create({
      serialNumber: randomSerial(),
      subject: distinguishedName(request.commonName, request.organizations),
      issuer: caCertificate.subject,
      ...validity(request.validDays ?? 365),
      signingAlgorithm,
      publicKey: leafKeys.publicKey,
      signingKey,
      extensions,
    });
    return { certificatePem: certificate.toString('pem'), privateKeyPem: await privateKeyPem(leafKeys.privateKey) };
  };
}

