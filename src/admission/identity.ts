// Reads and checks the tenant identity (user id, thread id) a sandbox Pod carries in its labels.
import { labelValueError } from '../naming/kubernetes-names.ts';
import { parseSubPathTemplate } from '../naming/subpath-template.ts';
import type { Policy } from '../policy/types.ts';

export interface SandboxIdentity {
  user: string;
  /** Present whenever the policy needs a thread. */
  thread?: string;
}

export function policyNeedsThread(policy: Policy): boolean {
  const { spec } = policy;
  if (spec.mode === 'workspace') return spec.workspace.scope === 'thread';
  return spec.shared.mounts.some((mount) => parseSubPathTemplate(mount.subPath).variables.has('thread'));
}

interface Denials {
  messages: string[];
  reasons: string[];
}

function checkIdentityLabel(
  labels: Record<string, string>,
  label: string,
  role: string,
  policy: Policy,
  denials: Denials,
): string | undefined {
  const deny = (reason: string, message: string) => {
    denials.messages.push(message);
    denials.reasons.push(reason);
    return undefined;
  };
  if (!Object.hasOwn(labels, label)) {
    return deny('IdentityLabelMissing', `label ${label} (the ${role} id) is required on sandbox pods selected by policy "${policy.name}"`);
  }
  const value = labels[label] ?? '';
  if (value === '') return deny('IdentityLabelInvalid', `label ${label} (the ${role} id) must not be empty (policy "${policy.name}")`);
  const problem = labelValueError(value);
  if (problem) return deny('IdentityLabelInvalid', `label ${label} (the ${role} id) has invalid value ${JSON.stringify(value)}: ${problem}`);
  return value;
}

export function readIdentity(
  labels: Record<string, string> | undefined,
  policy: Policy,
): { identity?: SandboxIdentity; denials: string[]; reasons: string[] } {
  const denials: Denials = { messages: [], reasons: [] };
  const present = labels ?? {};
  const user = checkIdentityLabel(present, policy.spec.identity.userLabel, 'user', policy, denials);
  const thread = policyNeedsThread(policy)
    ? checkIdentityLabel(present, policy.spec.identity.threadLabel, 'thread', policy, denials)
    : undefined;
  if (denials.messages.length > 0 || user === undefined) return { denials: denials.messages, reasons: denials.reasons };
  return { identity: thread === undefined ? { user } : { user, thread }, denials: [], reasons: [] };
}
