import { writeServingCertificate } from '../test/harness/tls.ts';
import { startCeilingServer, startServe, type RunningServer } from './lib/servers.ts';
import { startNodeProcess } from './lib/node-process.ts';
import { admissionPayloads } from './lib/admission-payloads.ts';
import { runLoad } from './load/load-client.ts';
import { processCpuMicros } from './lib/process-stats.ts';
const tls = await writeServingCertificate();
const payloads = admissionPayloads().filter((p) => p.id !== 'sandbox-20k');
async function raw(log: boolean): Promise<RunningServer> {
  const p = await startNodeProcess({ script: 'bench/exp-raw.ts', args: [tls.certFile, tls.keyFile], env: { ...process.env, ...(log ? { LOG: '1' } : {}) }, readyMessage: 'webhook server listening' });
  return { name: 'raw', process: p, pid: p.pid, port: Number(p.ready.port), stop: () => p.stop() };
}
for (let round = 0; round < 2; round++)
for (const [name, start] of [['ceiling', () => startCeilingServer(tls)], ['raw', () => raw(false)], ['rawlog', () => raw(true)], ['serve', () => startServe(tls)]] as const) {
  const s = await start();
  for (const p of payloads) {
    const uid = JSON.parse(p.body).request.uid;
    const { result, startSample } = await runLoad<any, number>({ kind: 'closed', target: { host: '127.0.0.1', port: s.port, path: '/mutate', caPem: tls.caPem }, body: p.body, uid, connections: 8, warmupMs: 1000, durationMs: 3000 }, { onStart: () => processCpuMicros(s.pid) });
    console.log(name.padEnd(8), p.id, Math.round(result.requestsPerSecond), 'req/s', Math.round((processCpuMicros(s.pid) - startSample) / result.completed), 'µs/req', result.errors);
  }
  await s.stop();
}
await tls.remove();
