// Throwaway CA + serving certificate files for running the webhook server in tests.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCertificateAuthority } from '../../src/certs/issue.ts';

export interface ServingCertificate {
  directory: string;
  certFile: string;
  keyFile: string;
  caPem: string;
  /** Issues a fresh certificate from the same CA into the same files (rotation). */
  rotate(): Promise<string>;
  remove(): Promise<void>;
}

export async function writeServingCertificate(): Promise<ServingCertificate> {
  const directory = await mkdtemp(join(tmpdir(), 'sandbox-storage-tls-'));
  const ca = await createCertificateAuthority('sandbox-storage test CA');
  const certFile = join(directory, 'tls.crt');
  const keyFile = join(directory, 'tls.key');
  const issue = async () => {
    const leaf = await ca.issue({ commonName: 'sandbox-storage-webhook', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], usage: 'server' });
    await writeFile(keyFile, leaf.privateKeyPem, { mode: 0o600 });
    await writeFile(certFile, leaf.certificatePem);
    return leaf.certificatePem;
  };
  await issue();
  return { directory, certFile, keyFile, caPem: ca.certificatePem, rotate: issue, remove: () => rm(directory, { recursive: true, force: true }) };
}
