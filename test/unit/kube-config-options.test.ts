// Connection pooling keys on the dispatcher options: equal options (certificates re-read as new Buffers) share a
// pool, any changed byte of a CA, certificate or key does not.
import { describe, expect, it } from 'vitest';
import { sameOptions } from '../../src/kube/kube-config.ts';

const options = (ca: Buffer, extra: Record<string, unknown> = {}) => ({ type: 'agent', connect: { ca, cert: 'CERT', key: Buffer.from('KEY'), keepAlive: true, ...extra } });

describe('sameOptions', () => {
  it('treats re-read certificates with the same bytes as the same options', () => {
    expect(sameOptions(options(Buffer.from('CA-1')), options(Buffer.from('CA-1')))).toBe(true);
  });

  it('tells a rotated CA apart, byte for byte', () => {
    expect(sameOptions(options(Buffer.from('CA-1')), options(Buffer.from('CA-2')))).toBe(false);
    expect(sameOptions(options(Buffer.from('CA-1')), options(Buffer.from('CA-1 ')))).toBe(false);
  });

  it('does not take a Buffer and a string of the same text for the same', () => {
    expect(sameOptions({ ca: Buffer.from('CA') }, { ca: 'CA' })).toBe(false);
  });

  it('ignores absent and undefined fields alike, but not an extra field', () => {
    expect(sameOptions(options(Buffer.from('CA'), { servername: undefined }), options(Buffer.from('CA')))).toBe(true);
    expect(sameOptions(options(Buffer.from('CA'), { servername: 'api' }), options(Buffer.from('CA')))).toBe(false);
  });

  it('compares arrays of CAs element by element', () => {
    expect(sameOptions({ ca: [Buffer.from('a'), Buffer.from('b')] }, { ca: [Buffer.from('a'), Buffer.from('b')] })).toBe(true);
    expect(sameOptions({ ca: [Buffer.from('a'), Buffer.from('b')] }, { ca: [Buffer.from('a')] })).toBe(false);
    expect(sameOptions({ ca: [Buffer.from('a')] }, { ca: { 0: Buffer.from('a') } })).toBe(false);
  });
});
