// The express application: admission endpoints, health, and error handling that always answers an AdmissionReview.
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { errorReview, type AdmissionSources } from '../admission/admission-review.ts';
import { admissionHandler, type AdmissionObserver } from './admission-handler.ts';

export interface AppOptions {
  sources: () => AdmissionSources;
  logger: Logger;
  isReady: () => boolean;
  maxBodyBytes: number;
  observe?: AdmissionObserver;
}

/** Admission endpoints answer with an AdmissionReview whatever went wrong; the API server reads nothing else. */
function requireJson(request: Request, response: Response, next: NextFunction): void {
  if (request.is('application/json')) return next();
  response
    .status(200)
    .json(errorReview('', 415, `unsupported content type ${JSON.stringify(request.get('content-type') ?? '')}: expected application/json`));
}

function bodyErrorHandler(logger: Logger, maxBodyBytes: number) {
  return (error: unknown, request: Request, response: Response, next: NextFunction): void => {
    if (response.headersSent) return next(error);
    const type = (error as { type?: string }).type;
    let review;
    if (type === 'entity.too.large') {
      review = errorReview('', 413, `request body exceeds the limit of ${maxBodyBytes} bytes`);
    } else if (type === 'entity.parse.failed') {
      review = errorReview('', 400, `request body is not valid JSON: ${(error as Error).message}`);
    } else {
      logger.error({ err: error, path: request.path }, 'unexpected error while reading an admission request');
      review = errorReview('', 500, `internal error: ${(error as Error).message}`);
    }
    response.status(200).json(review);
  };
}

export function createApp(options: AppOptions): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  const admission = [
    requireJson,
    express.json({ limit: options.maxBodyBytes, type: () => true }),
    admissionHandler('mutate', options.sources, options.logger, options.observe),
  ];
  app.post('/mutate', ...admission);
  app.get('/healthz', (_request, response) => {
    response.type('text/plain').send('ok');
  });
  app.get('/readyz', (_request, response) => {
    const ready = options.isReady();
    response.status(ready ? 200 : 503).type('text/plain').send(ready ? 'ok' : 'not ready');
  });
  app.use(bodyErrorHandler(options.logger, options.maxBodyBytes));
  return app;
}
