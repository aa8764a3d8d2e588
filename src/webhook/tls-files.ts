// Serving certificate from files, reloaded when they change (cert-manager and Secret mounts rotate them in place).
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { Logger } from 'pino';

export interface CertificateFiles {
  certFile: string;
  keyFile: string;
}

export interface TlsMaterial {
  cert: string;
  key: string;
}

export async function readTlsMaterial(files: CertificateFiles): Promise<TlsMaterial> {
  const [cert, key] = await Promise.all([readFile(files.certFile, 'utf8'), readFile(files.keyFile, 'utf8')]);
  createSecureContext({ cert, key }); // throws on a mismatched or malformed pair, before we serve it
  return { cert, key };
}

/**
 * Watches the certificate's directories (Secret volumes swap a symlinked directory, so watching the files
 * themselves misses updates) and calls `apply` with each new valid pair. A broken pair is logged and skipped.
 */
export function watchTlsMaterial(
  files: CertificateFiles,
  initial: TlsMaterial,
  logger: Logger,
  apply: (material: TlsMaterial, context: SecureContext) => void,
): { close(): void } {
  let lastApplied = initial.cert + initial.key;
  let pending: NodeJS.Timeout | undefined;
  const reload = async () => {
    try {
      const material = await readTlsMaterial(files);
      const fingerprint = material.cert + material.key;
      if (fingerprint === lastApplied) return;
      lastApplied = fingerprint;
      apply(material, createSecureContext(material));
      logger.info({ certFile: files.certFile }, 'serving certificate reloaded');
    } catch (error) {
      logger.warn({ err: error, certFile: files.certFile }, 'serving certificate not reloaded: keeping the previous one');
    }
  };
  // Writers replace cert and key one after the other; wait for the burst to settle before reading.
  const schedule = () => {
    if (pending) clearTimeout(pending);
    pending = setTimeout(() => void reload(), 200);
  };
  const watchers: FSWatcher[] = [...new Set([dirname(files.certFile), dirname(files.keyFile)])].map((directory) =>
    watch(directory, { persistent: false }, schedule),
  );
  // Some filesystems (network, overlay) drop change events; a slow poll catches those.
  const poll = setInterval(() => void reload(), 60_000);
  poll.unref();
  return {
    close() {
      for (const watcher of watchers) watcher.close();
      clearInterval(poll);
      if (pending) clearTimeout(pending);
    },
  };
}
