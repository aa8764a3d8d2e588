#!/usr/bin/env node
// `sandbox-storage` command line: dispatches to the subcommands.
import { controllerUsage, runController } from './commands/controller.ts';
import { reviewUsage, runReview } from './commands/review.ts';
import { runAll, runUsage } from './commands/run.ts';
import { runServe, serveUsage } from './commands/serve.ts';
import { UsageError } from './commands/usage-error.ts';

const usage = `Usage: sandbox-storage <command> [options]

Commands:
  serve      run the HTTPS mutating admission webhook
  controller run the leader-elected PVC controller
  run        run webhook and controller in one process (as deployed)
  review     show what the webhook would do with a Pod or AdmissionReview (alias: preview)

Run 'sandbox-storage <command> --help' for a command's options.
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  const wantsHelp = args.includes('--help') || args.includes('-h');
  const out = (text: string) => process.stdout.write(text);
  const err = (text: string) => process.stderr.write(text);
  switch (command) {
    case 'serve':
      if (wantsHelp) return (out(serveUsage), 0);
      return runServe(args);
    case 'controller':
      if (wantsHelp) return (out(controllerUsage), 0);
      return runController(args);
    case 'run':
      if (wantsHelp) return (out(runUsage), 0);
      return runAll(args);
    case 'review':
    case 'preview':
      if (wantsHelp) return (out(reviewUsage), 0);
      return runReview(args, out, err);
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      out(usage);
      return command === undefined ? 2 : 0;
    default:
      err(`unknown command ${JSON.stringify(command)}\n\n${usage}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const usageProblem = error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    process.stderr.write(`error: ${(error as Error).message}\n`);
    if (!usageProblem && (error as Error).stack) process.stderr.write(`${(error as Error).stack}\n`);
    process.exitCode = 2;
  },
);
