// CPU time and memory of another process, read from /proc (Linux). CPU is utime+stime of all its threads, so
// garbage collection and TLS work done off the main thread are counted too.
import { readFileSync } from 'node:fs';

const clockTicksPerSecond = 100; // USER_HZ: 100 on every Linux architecture Node runs on

/** Total CPU time (user + system) the process has used so far, in microseconds. */
export function processCpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name may contain spaces and parentheses: fields are counted after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1e6) / clockTicksPerSecond;
}

/** Resident set size in bytes (VmRSS). */
export function processRssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

/**
 * Time the process's main thread (a Node process's event loop) has spent running and waiting on a run queue for a
 * CPU, in microseconds, from /proc/PID/schedstat. Waiting is how much of its lateness a loaded machine caused.
 */
export function mainThreadSchedMicros(pid: number): { runMicros: number; waitMicros: number } {
  const [run, wait] = readFileSync(`/proc/${pid}/schedstat`, 'utf8').trim().split(' ').map(Number);
  return { runMicros: (run ?? 0) / 1e3, waitMicros: (wait ?? 0) / 1e3 };
}
