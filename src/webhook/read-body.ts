// Reading a request body whole, with the size limit enforced while reading: an oversized body is drained and
// dropped as it arrives, never buffered (a declared Content-Length over the limit is refused before any byte).
import type { IncomingMessage } from 'node:http';

export type BodyRead = { body: Buffer; tooLarge?: undefined } | { tooLarge: true; body?: undefined };

/**
 * Calls `done` once the whole request has arrived. A request that breaks off (client gone) never calls it:
 * there is nobody left to answer. `onAbort` hears about it.
 */
export function readBody(request: IncomingMessage, maxBytes: number, done: (read: BodyRead) => void, onAbort: (error: Error) => void): void {
  const declared = request.headers['content-length'];
  let tooLarge = declared !== undefined && Number(declared) > maxBytes;
  const chunks: Buffer[] = [];
  let size = 0;
  request.on('data', (chunk: Buffer) => {
    if (tooLarge) return;
    size += chunk.length;
    if (size > maxBytes) {
      tooLarge = true;
      chunks.length = 0;
    } else {
      chunks.push(chunk);
    }
  });
  request.on('end', () => {
    if (tooLarge) done({ tooLarge: true });
    else done({ body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size) });
  });
  request.on('error', onAbort);
}
