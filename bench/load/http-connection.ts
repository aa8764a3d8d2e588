// A minimal HTTP/1.1 keep-alive client over one TLS connection: writes a prebuilt request and parses only the status
// line and Content-Length of the answer. Much cheaper per request than node:https, so that on a small machine the
// load generator is not what limits the servers it measures.
import { connect, type TLSSocket } from 'node:tls';

export interface Target {
  host: string;
  port: number;
  path: string;
  /** PEM of the CA that signed the server's certificate. */
  caPem: string;
}

export type ResponseCallback = (error: Error | undefined, status: number, body: Buffer | undefined) => void;

const headerEnd = Buffer.from('\r\n\r\n');
const contentLengthPattern = /\r\ncontent-length:\s*(\d+)/i;

export function buildRequest(target: Target, body: string): Buffer {
  const payload = Buffer.from(body);
  const head =
    `POST ${target.path} HTTP/1.1\r\nHost: ${target.host}:${target.port}\r\nContent-Type: application/json\r\n` +
    `Accept: application/json, */*\r\nContent-Length: ${payload.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head), payload]);
}

export class HttpConnection {
  private readonly socket: TLSSocket;
  private buffered: Buffer = Buffer.alloc(0);
  private waiting: ResponseCallback | undefined;
  private closedError: Error | undefined;

  private constructor(socket: TLSSocket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    const fail = (error: Error) => {
      this.closedError ??= error;
      const callback = this.waiting;
      this.waiting = undefined;
      callback?.(error, 0, undefined);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed by the server')));
  }

  static open(target: Target): Promise<HttpConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: target.host, port: target.port, ca: target.caPem, servername: undefined }, () => {
        socket.off('error', reject);
        resolve(new HttpConnection(socket));
      });
      socket.once('error', reject);
    });
  }

  get busy(): boolean {
    return this.waiting !== undefined;
  }

  send(request: Buffer, callback: ResponseCallback): void {
    if (this.closedError) return callback(this.closedError, 0, undefined);
    this.waiting = callback;
    this.socket.write(request);
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const end = this.buffered.indexOf(headerEnd);
    if (end < 0) return;
    const head = this.buffered.toString('latin1', 0, end);
    const length = contentLengthPattern.exec(head);
    const callback = this.waiting;
    if (!length) {
      this.waiting = undefined;
      callback?.(new Error(`response without Content-Length: ${head.split('\r\n')[0]}`), 0, undefined);
      return;
    }
    const bodyStart = end + headerEnd.length;
    const bodyEnd = bodyStart + Number(length[1]);
    if (this.buffered.length < bodyEnd) return;
    const status = Number(head.slice(9, 12));
    const body = this.buffered.subarray(bodyStart, bodyEnd);
    this.buffered = this.buffered.length > bodyEnd ? this.buffered.subarray(bodyEnd) : Buffer.alloc(0);
    this.waiting = undefined;
    callback?.(undefined, status, body);
  }
}
