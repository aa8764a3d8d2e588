// Makes a CA and a serving certificate for running the webhook locally or against a dev cluster by hand.
//   npm run certs -- [--out DIR] [--service NAME] [--namespace NS] [--san NAME|IP ...] [--days N]
// The certificate names the Service forms the API server calls (NAME.NS.svc) plus localhost and 127.0.0.1.
import { mkdirSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createCertificateAuthority } from '../src/certs/issue.ts';

const { values } = parseArgs({
  options: {
    out: { type: 'string', default: 'certs/dev' },
    service: { type: 'string', default: 'sandbox-storage-webhook' },
    namespace: { type: 'string', default: 'sandbox-storage-system' },
    san: { type: 'string', multiple: true },
    days: { type: 'string', default: '365' },
  },
  strict: true,
});
const days = Number(values.days);
if (!Number.isFinite(days) || days <= 0) {
  process.stderr.write(`--days must be a positive number, got ${values.days}\n`);
  process.exit(2);
}
const { service, namespace } = values;
const extra = values.san ?? [];
const dnsNames = [
  service,
  `${service}.${namespace}`,
  `${service}.${namespace}.svc`,
  `${service}.${namespace}.svc.cluster.local`,
  'localhost',
  ...extra.filter((name) => isIP(name) === 0),
];
const ipAddresses = ['127.0.0.1', ...extra.filter((name) => isIP(name) !== 0)];

const ca = await createCertificateAuthority(`${service} dev CA`, days);
const leaf = await ca.issue({ commonName: `${service}.${namespace}.svc`, dnsNames, ipAddresses, usage: 'server', validDays: days });
const out = resolve(values.out);
mkdirSync(out, { recursive: true, mode: 0o700 });
writeFileSync(join(out, 'ca.crt'), ca.certificatePem);
writeFileSync(join(out, 'tls.crt'), leaf.certificatePem);
writeFileSync(join(out, 'tls.key'), leaf.privateKeyPem, { mode: 0o600 });
process.stdout.write(
  [
    `wrote ${out}/ca.crt, tls.crt, tls.key (names: ${[...dnsNames, ...ipAddresses].join(', ')})`,
    `serve:  npx sandbox-storage serve --tls-cert-file ${out}/tls.crt --tls-key-file ${out}/tls.key`,
    `caBundle for a webhook configuration: base64 -w0 ${out}/ca.crt`,
    '',
  ].join('\n'),
);
