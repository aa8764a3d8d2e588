// Checks of the flags serve, controller and run share, so that each is read by one rule.

/** pino's levels, in the order --help lists them. */
export const logLevels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

export function logLevelProblems(level: string): string[] {
  return logLevels.includes(level) ? [] : [`--log-level must be one of ${logLevels.join(', ')}, got ${level}`];
}

/** Checks the ownership-key flags (shared by serve and the controller). */
export function ownershipKeyProblems(secret: string, namespace: string): string[] {
  const problems: string[] = [];
  if (!/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(secret)) problems.push(`--ownership-key-secret must be a Secret name, got ${secret}`);
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(namespace)) problems.push(`--ownership-key-namespace must be a namespace name, got ${namespace}`);
  return problems;
}
