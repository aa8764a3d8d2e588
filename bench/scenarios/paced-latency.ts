import type { ScenarioResult } from '../report/results.ts';
import type { ScenarioContext } from './context.ts';
export async function pacedLatency(_context: ScenarioContext): Promise<ScenarioResult> {
  throw new Error('not yet');
}
