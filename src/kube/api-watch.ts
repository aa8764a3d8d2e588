// Watches over api-transport.ts, in the shape client-node's ListWatch takes in place of its Watch: the events of
// one watch request, each line JSON-parsed and handed over as (type, object, event); `done` once, when the stream
// ends (null) or fails (the error, with statusCode for a refused request, so that 410 Gone makes ListWatch relist).
// client-node's Watch pipes undici's web stream through a Node stream and readline; this reads the socket's
// chunks and splits them itself (watch-lines.ts).
import { STATUS_CODES } from 'node:http';
import type * as k8s from '@kubernetes/client-node';
import { withQuery } from './api-requests.ts';
import { apiTransport } from './api-transport.ts';
import { WatchLines } from './watch-lines.ts';

export type WatchCallback = (phase: string, object: unknown, event: unknown) => void;

export interface ApiWatch {
  watch(path: string, queryParams: Record<string, unknown>, callback: WatchCallback, done: (error: unknown) => void): Promise<{ abort(): void }>;
}

export interface WatchOptions {
  /** No byte for this long ends the watch with a TimeoutError, which ListWatch answers by watching again at once. */
  inactivityTimeoutMs?: number;
}

/** As client-node's Watch: the API server sends nothing on a quiet watch, and this restarts it from where it was. */
const defaultInactivityTimeoutMs = 30_000;

export function apiWatch(config: k8s.KubeConfig, options: WatchOptions = {}): ApiWatch {
  const transport = apiTransport(config);
  const timeoutMs = options.inactivityTimeoutMs ?? defaultInactivityTimeoutMs;
  return {
    async watch(path, queryParams, callback, done) {
      const controller = new AbortController();
      let finished = false;
      // After abort() nothing more is called: ListWatch aborts the old watch before it starts the next one.
      const finish = (error: unknown) => {
        if (finished || controller.signal.aborted) return;
        finished = true;
        controller.abort();
        done(error);
      };
      const query: Record<string, string | number | boolean | undefined> = { watch: true };
      for (const [key, value] of Object.entries(queryParams)) if (value !== undefined) query[key] = String(value);
      try {
        const response = await transport.request({
          method: 'GET',
          path: withQuery(path, query),
          headers: { Accept: 'application/json' },
          watch: true,
          timeoutMs,
          timeoutError: () => new DOMException(`watch ${path}: nothing from the API server for ${timeoutMs / 1000} s`, 'TimeoutError'),
          signal: controller.signal,
        });
        if (response.statusCode !== 200) {
          response.resume();
          const status = response.statusCode ?? 0;
          const error = new Error(`watch ${path}: ${status} ${response.statusMessage || STATUS_CODES[status] || 'error'}`) as Error & { statusCode: number };
          error.statusCode = status;
          finish(error);
          return controller;
        }
        const lines = new WatchLines();
        const event = (line: string) => {
          if (finished || controller.signal.aborted) return;
          let parsed: { type?: string; object?: unknown };
          try {
            parsed = JSON.parse(line) as { type?: string; object?: unknown };
          } catch {
            // As client-node: a line that is not JSON is skipped, the watch goes on.
            return;
          }
          try {
            callback(parsed.type as string, parsed.object, parsed);
          } catch {
            // As client-node: a handler's failure on one event does not end the watch.
          }
        };
        response.on('data', (chunk: Buffer) => lines.push(chunk, event));
        response.on('end', () => {
          lines.end(event);
          finish(null);
        });
        response.on('error', finish);
        response.on('close', () => finish(response.complete ? null : new Error(`watch ${path}: the API server closed the connection`)));
      } catch (error) {
        finish(error);
      }
      return controller;
    },
  };
}
