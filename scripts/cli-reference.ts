// Regenerates docs/cli.md from the option table (src/commands/options.ts) and the commands' --help.
// `npm run generate`; a test fails when the committed file differs.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { controllerSummary, controllerUsage } from '../src/commands/controller.ts';
import { migratePlanSummary, migratePlanUsage, migrateRunSummary, migrateRunUsage, migrateStatusSummary, migrateStatusUsage } from '../src/commands/migrate.ts';
import { cliReference } from '../src/commands/options.ts';
import { runSummary, runUsage } from '../src/commands/run.ts';
import { serveSummary, serveUsage } from '../src/commands/serve.ts';

export const cliReferencePath = fileURLToPath(new URL('../docs/cli.md', import.meta.url));

export function renderCliReference(): string {
  return cliReference([
    { command: 'run', usage: runUsage, summary: runSummary },
    { command: 'serve', usage: serveUsage, summary: serveSummary },
    { command: 'controller', usage: controllerUsage, summary: controllerSummary },
    { command: 'migrate plan', usage: migratePlanUsage, summary: migratePlanSummary },
    { command: 'migrate run', usage: migrateRunUsage, summary: migrateRunSummary },
    { command: 'migrate status', usage: migrateStatusUsage, summary: migrateStatusSummary },
  ]);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  writeFileSync(cliReferencePath, renderCliReference());
  process.stdout.write(`wrote ${cliReferencePath}\n`);
}
