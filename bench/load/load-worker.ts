// The load generator process (forked by load-client.ts, so that its CPU is not the server's): runs one job sent
// over IPC, reports `{type: 'measuring'}` when the measured window starts, then `{type: 'result'}` and exits.
// - closed: every connection sends its next request as soon as the previous answer arrived (throughput).
// - paced: open loop at a fixed rate; latency is counted from the intended send time, so a stalled server is
//   charged for the requests that queued behind the stall (no coordinated omission).
import { buildRequest, HttpConnection, type Target } from './http-connection.ts';
import type { ClosedLoopResult, LoadJob, PacedResult, WorkerMessage } from './load-types.ts';

let finished = false;

function send(message: WorkerMessage): void {
  process.send?.(message);
}

/** Sends the last message and exits once it is out (a large latency array takes a while to write). */
function finish(message: WorkerMessage): void {
  finished = true;
  process.send?.(message, undefined, {}, () => process.exit(0));
}

/** Every answer must be an AdmissionReview for the request's uid; a sample is fully parsed to check that. */
function checkAnswer(status: number, body: Buffer, expectedUid: string): string | undefined {
  if (status !== 200) return `HTTP ${status}: ${body.toString('utf8').slice(0, 200)}`;
  const review = JSON.parse(body.toString('utf8')) as { kind?: string; response?: { uid?: string; allowed?: boolean } };
  if (review.kind !== 'AdmissionReview' || review.response?.uid !== expectedUid) {
    return `not an AdmissionReview for uid ${expectedUid}: ${body.toString('utf8').slice(0, 200)}`;
  }
  return undefined;
}

async function openAll(target: Target, count: number): Promise<HttpConnection[]> {
  return Promise.all(Array.from({ length: count }, () => HttpConnection.open(target)));
}

async function closedLoop(job: Extract<LoadJob, { kind: 'closed' }>): Promise<ClosedLoopResult> {
  const request = buildRequest(job.target, job.body);
  const connections = await openAll(job.target, job.connections);
  let measuring = false;
  let stopped = false;
  let completed = 0;
  let errors = 0;
  let firstError: string | undefined;
  let answers = 0;
  const noteError = (message: string) => {
    errors += 1;
    firstError ??= message;
  };
  const loop = (connection: HttpConnection) => {
    if (stopped) return;
    connection.send(request, (error, status, body) => {
      answers += 1;
      if (error || !body) {
        noteError(error?.message ?? 'no body');
        return;
      }
      if (answers % 97 === 1) {
        const problem = checkAnswer(status, body, job.uid);
        if (problem) noteError(problem);
      } else if (status !== 200) noteError(`HTTP ${status}`);
      if (measuring) completed += 1;
      loop(connection);
    });
  };
  for (const connection of connections) loop(connection);
  await new Promise((resolve) => setTimeout(resolve, job.warmupMs));
  measuring = true;
  send({ type: 'measuring' });
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, job.durationMs));
  measuring = false;
  const elapsedMs = performance.now() - started;
  stopped = true;
  for (const connection of connections) connection.close();
  return { kind: 'closed', completed, elapsedMs, requestsPerSecond: (completed / elapsedMs) * 1000, errors, firstError };
}

async function paced(job: Extract<LoadJob, { kind: 'paced' }>): Promise<PacedResult> {
  const request = buildRequest(job.target, job.body);
  const connections = await openAll(job.target, job.connections);
  const idle = [...connections];
  const intervalMs = 1000 / job.ratePerSecond;
  const warmupCount = Math.round((job.warmupMs / 1000) * job.ratePerSecond);
  const measuredCount = Math.round((job.durationMs / 1000) * job.ratePerSecond);
  const total = warmupCount + measuredCount;
  const latencies = new Float64Array(measuredCount);
  const queue: number[] = []; // indexes of requests due but waiting for a free connection
  let next = 0;
  let done = 0;
  let errors = 0;
  let firstError: string | undefined;
  let maxQueue = 0;
  const start = performance.now() + 20;
  const intended = (index: number) => start + index * intervalMs;

  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const finish = () => {
      if (timer) clearTimeout(timer);
      for (const connection of connections) connection.close();
      const measuredMs = measuredCount * intervalMs;
      resolve({ kind: 'paced', latenciesMs: Array.from(latencies), measuredMs, errors, firstError, maxQueue });
    };
    const dispatch = (connection: HttpConnection, index: number) => {
      if (index === warmupCount) send({ type: 'measuring' });
      connection.send(request, (error, status, body) => {
        const now = performance.now();
        done += 1;
        if (error || !body) {
          errors += 1;
          firstError ??= error?.message ?? 'no body';
        } else if (index % 101 === 0) {
          const problem = checkAnswer(status, body, job.uid);
          if (problem) {
            errors += 1;
            firstError ??= problem;
          }
        } else if (status !== 200) {
          errors += 1;
          firstError ??= `HTTP ${status}`;
        }
        if (index >= warmupCount) latencies[index - warmupCount] = now - intended(index);
        const waitingIndex = queue.shift();
        if (waitingIndex !== undefined) dispatch(connection, waitingIndex);
        else idle.push(connection);
        if (done === total) finish();
      });
    };
    const tick = () => {
      const now = performance.now();
      while (next < total && intended(next) <= now) {
        const connection = idle.pop();
        if (connection) dispatch(connection, next);
        else queue.push(next);
        next += 1;
      }
      maxQueue = Math.max(maxQueue, queue.length);
      if (next < total) timer = setTimeout(tick, Math.max(0, Math.min(1, intended(next) - performance.now())));
    };
    timer = setTimeout(tick, 20);
  });
}

process.once('message', (job: LoadJob) => {
  const run = job.kind === 'closed' ? closedLoop(job) : paced(job);
  run.then(
    (result) => finish({ type: 'result', result }),
    (error: unknown) => finish({ type: 'error', message: (error as Error).stack ?? String(error) }),
  );
});

// The runner went away before the result (crashed or interrupted): nothing left to do.
process.on('disconnect', () => {
  if (!finished) process.exit(0);
});
