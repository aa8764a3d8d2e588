// The watch line splitter of src/kube/watch-lines.ts: whatever the chunk boundaries (every byte, including inside
// a multi-byte character and between \r and \n), the lines are the stream's lines.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WatchLines } from '../../src/kube/watch-lines.ts';

function split(chunks: Buffer[]): string[] {
  const lines: string[] = [];
  const splitter = new WatchLines();
  for (const chunk of chunks) splitter.push(chunk, (line) => lines.push(line));
  splitter.end((line) => lines.push(line));
  return lines;
}

const events = [
  JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'zürich-ß', annotations: { note: '日本語 🚀 text' } } } }),
  JSON.stringify({ type: 'MODIFIED', object: { metadata: { name: 'b' }, data: { emoji: '😀😀', escaped: 'a\\nb' } } }),
  JSON.stringify({ type: 'DELETED', object: { metadata: { name: 'c' } } }),
];
const stream = Buffer.from(`${events.join('\n')}\n`, 'utf8');

describe('WatchLines', () => {
  it('gives the same lines for a cut at every byte, inside multi-byte characters too', () => {
    for (let cut = 0; cut <= stream.length; cut += 1) {
      expect(split([stream.subarray(0, cut), stream.subarray(cut)])).toEqual(events);
    }
  });

  it('gives the same lines for a stream sent one byte at a time', () => {
    const bytes = Array.from(stream, (byte) => Buffer.from([byte]));
    expect(split(bytes)).toEqual(events);
  });

  it('gives the same lines for any chunking of any text', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary' }).map((text) => text.replace(/[\r\n]/g, '')), { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 12 }), (lines, cuts) => {
        const bytes = Buffer.from(`${lines.join('\n')}\n`, 'utf8');
        const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
        const chunks = [0, ...points].map((start, index, all) => bytes.subarray(start, all[index + 1] ?? bytes.length));
        expect(split(chunks)).toEqual(lines.filter((line) => line !== ''));
      }),
    );
  });

  it('keeps a last line without a newline, drops \\r of \\r\\n endings and skips empty lines', () => {
    expect(split([Buffer.from('one\r'), Buffer.from('\n\n\ntwo\r\nthr'), Buffer.from('ee')])).toEqual(['one', 'two', 'three']);
  });

  it('does not keep a view of the chunk it was given', () => {
    const chunk = Buffer.from('{"a":1}\n{"b":');
    const lines: string[] = [];
    const splitter = new WatchLines();
    splitter.push(chunk, (line) => lines.push(line));
    chunk.fill(0x20);
    splitter.push(Buffer.from('2}\n'), (line) => lines.push(line));
    expect(lines).toEqual(['{"a":1}', '{"b":2}']);
  });
});
