#!/usr/bin/env node
// `sandbox-storage` command line: dispatches to the subcommands.
import { UsageError } from './commands/usage-error.ts';
import { loadOnlyUsedClientNode } from './kube/client-node-loading.ts';
import { PolicyLoadError } from './policy/load.ts';

// Before any command loads the Kubernetes client: its modules then load without the generated models they do not
// use (the controller's memory, docs/performance.md).
loadOnlyUsedClientNode();

// Each command loads only its own modules: `review` starts without the server or the Kubernetes client.
const loadServe = () => import('./commands/serve.ts');
const loadController = () => import('./commands/controller.ts');
const loadRun = () => import('./commands/run.ts');
const loadReview = () => import('./commands/review.ts');
const loadValidate = () => import('./commands/validate.ts');
const loadPolicies = () => import('./commands/policies.ts');
const loadAudit = () => import('./commands/audit.ts');
const loadMigrate = () => import('./commands/migrate.ts');

const usage = `Usage: sandbox-storage <command> [options]

Commands:
  serve       run the HTTPS admission webhooks (/mutate, /validate)
  controller  run the leader-elected PVC controller
  run         run webhooks and controller in one process (as deployed)
  review      show what the webhooks would do with a Pod or AdmissionReview (alias: preview)
  validate    check SandboxStoragePolicy files offline
  policies    list the SandboxStoragePolicies of a cluster with their status
  audit       list what breaks tenant isolation in a live cluster now
  migrate     plan, run and check a move of existing data into a policy's layout

Run 'sandbox-storage <command> --help' for a command's options.
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  const wantsHelp = args.includes('--help') || args.includes('-h');
  const out = (text: string) => process.stdout.write(text);
  const err = (text: string) => process.stderr.write(text);
  switch (command) {
    case 'serve': {
      const { runServe, serveUsage } = await loadServe();
      if (wantsHelp) return (out(serveUsage), 0);
      return runServe(args);
    }
    case 'controller': {
      const { controllerUsage, runController } = await loadController();
      if (wantsHelp) return (out(controllerUsage), 0);
      return runController(args);
    }
    case 'run': {
      const { runAll, runUsage } = await loadRun();
      if (wantsHelp) return (out(runUsage), 0);
      return runAll(args);
    }
    case 'review':
    case 'preview': {
      const { reviewUsage, runReview } = await loadReview();
      if (wantsHelp) return (out(reviewUsage), 0);
      return runReview(args, out, err);
    }
    case 'validate': {
      const { runValidate, validateUsage } = await loadValidate();
      if (wantsHelp) return (out(validateUsage), 0);
      return runValidate(args, out, err);
    }
    case 'policies': {
      const { policiesUsage, runPolicies } = await loadPolicies();
      if (wantsHelp) return (out(policiesUsage), 0);
      return runPolicies(args, out);
    }
    case 'audit': {
      const { auditUsage, runAudit } = await loadAudit();
      if (wantsHelp) return (out(auditUsage), 0);
      return runAudit(args, out, err);
    }
    case 'migrate': {
      const { runMigrate } = await loadMigrate();
      return runMigrate(args, { out, err, tty: process.stderr.isTTY === true });
    }
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
    const usageProblem =
      error instanceof UsageError ||
      error instanceof PolicyLoadError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    process.stderr.write(`error: ${(error as Error).message}\n`);
    if (!usageProblem && (error as Error).stack) process.stderr.write(`${(error as Error).stack}\n`);
    // Exit now: a command that failed while starting may hold open sockets or watches that would keep it alive.
    process.exit(2);
  },
);
