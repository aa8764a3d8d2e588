// Call options for writes whose answer the caller never reads (a gate patch, an Event). client-node decodes every
// 2xx body into typed model objects; decoding answers was 9 % of the controller's busy time in a profiled bench
// run, much of it the whole Pod each gate patch returns (docs/performance.md). Errors keep their body: their
// Status message is what logs and Events quote.
import * as k8s from '@kubernetes/client-node';

const emptyObject = Buffer.from('{}');

/**
 * A body that drains the real one (so the stream is consumed and released) and reads as `{}`. Through text():
 * client-node's binary() calls a method undici's Response does not have.
 */
function drained(body: k8s.ResponseBody): k8s.ResponseBody {
  const consumed = body.text().then(() => emptyObject);
  return {
    text: async () => (await consumed).toString(),
    binary: () => consumed,
    stream: () => null,
  };
}

const unreadAnswer: k8s.ObservableMiddleware = {
  pre: (request) => new k8s.Observable(Promise.resolve(request)),
  post: (response) =>
    new k8s.Observable(
      Promise.resolve(
        response.httpStatusCode >= 200 && response.httpStatusCode < 300
          ? new k8s.ResponseContext(response.httpStatusCode, response.headers, drained(response.body))
          : response,
      ),
    ),
};

/** `options` plus the middleware that skips decoding a successful answer; the call then resolves to an empty object. */
export function answerUnread(options?: k8s.ConfigurationOptions): k8s.ConfigurationOptions {
  return { ...options, middleware: [...(options?.middleware ?? []), unreadAnswer], middlewareMergeStrategy: 'append' };
}
