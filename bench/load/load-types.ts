// Messages between the benchmark runner and the load generator process.
import type { Target } from './http-connection.ts';

export type LoadJob =
  | {
      kind: 'closed';
      target: Target;
      body: string;
      uid: string;
      connections: number;
      warmupMs: number;
      durationMs: number;
    }
  | {
      kind: 'paced';
      target: Target;
      body: string;
      uid: string;
      connections: number;
      ratePerSecond: number;
      warmupMs: number;
      durationMs: number;
    };

export interface ClosedLoopResult {
  kind: 'closed';
  completed: number;
  elapsedMs: number;
  requestsPerSecond: number;
  errors: number;
  firstError?: string;
}

export interface PacedResult {
  kind: 'paced';
  /** One latency per measured request, from its intended send time to its answer. */
  latenciesMs: number[];
  measuredMs: number;
  errors: number;
  firstError?: string;
  /** Most requests that were due but waiting for a free connection at once. */
  maxQueue: number;
}

export type WorkerMessage =
  | { type: 'measuring' }
  | { type: 'result'; result: ClosedLoopResult | PacedResult }
  | { type: 'error'; message: string };
