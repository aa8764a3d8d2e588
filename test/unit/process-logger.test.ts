import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../harness/wait.ts';
import { lineBatch } from '../../src/commands/process-logger.ts';

const loggerModule = new URL('../../src/commands/process-logger.ts', import.meta.url).pathname;

// A process that logs two admission lines and then a start-up line, and waits: the start-up line must take the
// admission lines with it, at once; a last admission line still reaches stdout when the process is stopped.
const script = `
import { processLogger } from ${JSON.stringify(loggerModule)};
const logger = processLogger({ level: 'info' });
logger.info({ uid: 'a' }, 'pod mutated');
logger.info({ uid: 'b' }, 'pod denied');
logger.info({ port: 1 }, 'webhook server listening');
process.stdin.once('data', () => {
  logger.info({ uid: 'c' }, 'pod mutated');
  process.stderr.write('logged\\n');
});
process.once('SIGTERM', () => process.exit(0));
setInterval(() => undefined, 60_000);
`;

describe('processLogger', () => {
  it('writes any other line at once with the admission lines before it, and the rest at exit', async () => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'pipe'] });
    const lines: Array<{ msg: string; uid?: string }> = [];
    createInterface({ input: child.stdout }).on('line', (line) => lines.push(JSON.parse(line)));
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      await waitFor(() => lines.length >= 3, { description: 'the start-up line', timeoutMs: 15_000 });
      expect(lines.map((line) => line.msg)).toEqual(['pod mutated', 'pod denied', 'webhook server listening']);
      child.stdin.write('\n');
      await waitFor(() => stderr.includes('logged'), { description: 'the last admission line to be logged', timeoutMs: 15_000 });
      // Still buffered (unless the periodic flush came first): the exit writes it.
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(lines.map((line) => line.uid ?? line.msg)).toEqual(['a', 'b', 'webhook server listening', 'c']);
    } finally {
      child.kill('SIGKILL');
    }
  });
});

describe('lineBatch', () => {
  it('hands lines on joined once enough bytes wait, and the rest on flush', () => {
    const written: string[] = [];
    const batch = lineBatch({ write: (text: string) => written.push(text) }, 10);
    batch.write('{"a":1}\n');
    expect(written).toEqual([]);
    batch.write('{"b":2}\n');
    expect(written).toEqual(['{"a":1}\n{"b":2}\n']);
    batch.write('{"c":3}\n');
    batch.flush();
    batch.flush();
    expect(written).toEqual(['{"a":1}\n{"b":2}\n', '{"c":3}\n']);
  });
});
