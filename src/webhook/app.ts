// The HTTPS request listener: admission endpoints, health, and error handling that always answers an
// AdmissionReview. express routes; it is used lean, because its body parser, `res.json`/`res.send` and the etag
// hash cost more CPU per admission than the admission work itself: the handler reads and parses the body once and
// writes each answer with one `res.end` (bench: express-vs-plain A/B).
import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { errorReview, type AdmissionReviewResponse, type AdmissionSources } from './review.ts';
import { reviewAdmission } from './mutate.ts';
import { reviewValidation } from './validate.ts';
import { admissionHandler, type AdmissionHandler, type AdmissionObserver } from './admission-handler.ts';
import { readBody } from './read-body.ts';

export interface AppOptions {
  sources: () => AdmissionSources;
  logger: Logger;
  isReady: () => boolean;
  maxBodyBytes: number;
  observe?: AdmissionObserver;
  /** True once the server is stopping: each answer then closes its connection instead of keeping it alive. */
  closeConnections?: () => boolean;
}

export type RequestListener = (request: IncomingMessage, response: ServerResponse) => void;

/** Writes a whole answer at once: headers and body in one `end()`, with its Content-Length. */
function send(response: ServerResponse, options: AppOptions, status: number, contentType: string, text: string): void {
  const headers = ['content-type', contentType, 'content-length', String(Buffer.byteLength(text))];
  if (options.closeConnections?.()) headers.push('connection', 'close');
  response.writeHead(status, headers);
  response.end(text);
}

function sendJson(response: ServerResponse, options: AppOptions, text: string): void {
  send(response, options, 200, 'application/json; charset=utf-8', text);
}

function sendText(response: ServerResponse, options: AppOptions, status: number, text: string): void {
  send(response, options, status, 'text/plain; charset=utf-8', text);
}

/** Admission endpoints answer with an AdmissionReview whatever went wrong; the API server reads nothing else. */
function sendReview(response: ServerResponse, options: AppOptions, review: AdmissionReviewResponse): void {
  sendJson(response, options, JSON.stringify(review));
}

/** The request path without query (the API server adds `?timeout=10s`) and without a trailing slash, for logs. */
function routePath(url: string | undefined): string {
  if (url === undefined) return '';
  const query = url.indexOf('?');
  const path = query < 0 ? url : url.slice(0, query);
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}

/** Why a Content-Type/Content-Encoding cannot be read as a JSON AdmissionReview, or undefined when it can. */
function unreadableContent(request: IncomingMessage): string | undefined {
  const contentType = request.headers['content-type'] ?? '';
  // What the API server sends: nothing to take apart.
  if (contentType === 'application/json' && request.headers['content-encoding'] === undefined) return undefined;
  const [mediaType = '', ...parameters] = contentType.split(';');
  if (mediaType.trim().toLowerCase() !== 'application/json') {
    return `unsupported content type ${JSON.stringify(contentType)}: expected application/json`;
  }
  for (const parameter of parameters) {
    const [name = '', value = ''] = parameter.split('=');
    const charset = value.trim().replace(/^"|"$/g, '').toLowerCase();
    if (name.trim().toLowerCase() === 'charset' && charset !== 'utf-8' && charset !== 'utf8') {
      return `unsupported charset ${JSON.stringify(charset)}: expected utf-8`;
    }
  }
  const encoding = request.headers['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') {
    return `unsupported content encoding ${JSON.stringify(encoding)}: expected none`;
  }
  return undefined;
}

/** Reads, parses and answers one admission request; every outcome is an AdmissionReview (HTTP 200). */
export function serveAdmission(request: IncomingMessage, response: ServerResponse, handle: AdmissionHandler, options: AppOptions): void {
  const unreadable = unreadableContent(request);
  if (unreadable !== undefined) {
    request.resume(); // drain, so that the connection stays usable
    request.once('end', () => sendReview(response, options, errorReview('', 415, unreadable)));
    return;
  }
  readBody(
    request,
    options.maxBodyBytes,
    (read) => {
      if (read.tooLarge) return sendReview(response, options, errorReview('', 413, `request body exceeds the limit of ${options.maxBodyBytes} bytes`));
      let body: unknown;
      try {
        body = JSON.parse(read.body.toString('utf8'));
      } catch (error) {
        return sendReview(response, options, errorReview('', 400, `request body is not valid JSON: ${(error as Error).message}`));
      }
      handle(body, (text) => sendJson(response, options, text)).catch((error: unknown) => {
        options.logger.error({ err: error, path: routePath(request.url) }, 'unexpected error while answering an admission request');
        if (!response.headersSent) sendReview(response, options, errorReview('', 500, `internal error: ${(error as Error).message}`));
      });
    },
    (error) => options.logger.debug({ err: error, path: routePath(request.url) }, 'admission request broke off before its end'),
  );
}

/** The two admission handlers of a server, built once. */
export function admissionHandlers(options: AppOptions): { mutate: AdmissionHandler; validate: AdmissionHandler } {
  return {
    mutate: admissionHandler('mutate', reviewAdmission, options.sources, options.logger, options.observe),
    validate: admissionHandler('validate', reviewValidation, options.sources, options.logger, options.observe),
  };
}

export function createRequestListener(options: AppOptions): RequestListener {
  const { mutate, validate } = admissionHandlers(options);
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.post('/mutate', (request, response) => serveAdmission(request, response, mutate, options));
  app.post('/validate', (request, response) => serveAdmission(request, response, validate, options));
  app.get('/healthz', (_request, response) => sendText(response, options, 200, 'ok'));
  app.get('/readyz', (_request, response) => {
    const ready = options.isReady();
    sendText(response, options, ready ? 200 : 503, ready ? 'ok' : 'not ready');
  });
  app.use((request: Request, response: Response) => sendText(response, options, 404, `no route for ${request.method} ${routePath(request.originalUrl)}`));
  // Only a bug reaches this: still an answer the API server can read on the admission paths.
  app.use((error: Error, request: Request, response: Response, _next: NextFunction) => {
    options.logger.error({ err: error, path: routePath(request.originalUrl) }, 'unexpected error while answering a request');
    if (response.headersSent) return;
    const path = routePath(request.originalUrl);
    if (path === '/mutate' || path === '/validate') sendReview(response, options, errorReview('', 500, `internal error: ${error.message}`));
    else sendText(response, options, 500, 'internal error');
  });
  return app;
}
