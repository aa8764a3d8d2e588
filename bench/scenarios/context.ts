// What every scenario gets from the runner.
import type { ServingCertificate } from '../../test/harness/tls.ts';

export interface ScenarioContext {
  smoke: boolean;
  /** Serving certificate shared by every HTTPS server of the run. */
  tls: ServingCertificate;
  /** When set, `sandbox-storage serve` and the bench's controller write V8 CPU profiles here. */
  cpuProfileDir?: string;
  /** `cli.js` of the CLI compiled for this run (bench/lib/built-cli.ts): serve and the controller run as shipped. */
  cliPath: string;
  /** Scratch directory of this run, removed at the end. */
  workDir: string;
}
