// What the numbers were measured on, recorded with them.
import { cpus, loadavg, release, totalmem } from 'node:os';
import type { MachineDescription } from '../report/results.ts';

export function describeMachine(): MachineDescription {
  const processors = cpus();
  return {
    cpuModel: processors[0]?.model.trim() ?? 'unknown',
    cpus: processors.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    loadAverageAtStart: loadavg().map((value) => Math.round(value * 100) / 100),
  };
}
