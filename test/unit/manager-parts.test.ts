// The manager's parts and unelected leadership: start order, reverse stop order, a stop that fails does not keep
// the others running, and a leader-only part still starting when the process stops is stopped too.
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { leadership } from '../../src/commands/leadership.ts';
import { startInOrder, stopInReverse, type Part } from '../../src/commands/parts.ts';
import { waitFor } from '../harness/wait.ts';

const logger = pino({ level: 'silent' });

function recordingPart(name: string, log: string[], behaviour: { start?: () => Promise<void>; failStop?: boolean } = {}): Part {
  return {
    name,
    async start() {
      log.push(`start ${name}`);
      await behaviour.start?.();
    },
    async stop() {
      log.push(`stop ${name}`);
      if (behaviour.failStop) throw new Error(`${name} cannot stop`);
    },
  };
}

describe('manager parts', () => {
  it('start in order and stop last first, even when one fails to stop', async () => {
    const log: string[] = [];
    const started: Part[] = [];
    await startInOrder([recordingPart('a', log), recordingPart('b', log, { failStop: true }), recordingPart('c', log)], started);
    await stopInReverse(started, logger);
    expect(log).toEqual(['start a', 'start b', 'start c', 'stop c', 'stop b', 'stop a']);
  });

  it('a part that fails to start is recorded as started, so it is stopped with the others', async () => {
    const log: string[] = [];
    const started: Part[] = [];
    const failing = recordingPart('b', log, { start: () => Promise.reject(new Error('port taken')) });
    await expect(startInOrder([recordingPart('a', log), failing, recordingPart('c', log)], started)).rejects.toThrow('port taken');
    await stopInReverse(started, logger);
    expect(log).toEqual(['start a', 'start b', 'stop b', 'stop a']);
  });
});

describe('unelected leadership', () => {
  it('leads at once, and stops its parts on stop, also one whose start never finished', async () => {
    const log: string[] = [];
    const changes: boolean[] = [];
    const never = new Promise<void>(() => {});
    const lead = leadership({
      parts: [recordingPart('renewal', log), recordingPart('controller', log, { start: () => never }), recordingPart('after', log)],
      onLeaderChange: (leading) => changes.push(leading),
      logger,
    });
    lead.begin();
    expect(changes).toEqual([true]);
    await waitFor(() => log.includes('start controller'), { description: 'the controller part to be starting', timeoutMs: 10_000 });
    await lead.stop();
    expect(log).toEqual(['start renewal', 'start controller', 'stop controller', 'stop renewal']);
  });

  it('stopped while starting, it starts no part after that', async () => {
    const log: string[] = [];
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const lead = leadership({ parts: [recordingPart('first', log, { start: () => held }), recordingPart('second', log)], logger });
    lead.begin();
    await waitFor(() => log.includes('start first'), { description: 'the first part to be starting', timeoutMs: 10_000 });
    const stopping = lead.stop();
    release();
    await stopping;
    // Let the start chain run on past the first part: it must find the term over.
    await held;
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(log).toEqual(['start first', 'stop first']);
  });
});
