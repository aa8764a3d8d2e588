// The policies in force, swapped atomically when a source reloads. Readers call current() per request, so a reload
// never half-applies: a request sees either the old set or the new one.
import { comparePolicies } from '../select-policy.ts';
import type { Policy } from '../types.ts';

/** What became of one policy the source knows about; feeds logs, /readyz and the policy status. */
export interface PolicyLoadState {
  name: string;
  /** Where it came from: a file path or `cluster`. */
  origin: string;
  /** Generation of the object the state describes (cluster policies). */
  generation?: number;
  /** Serving the latest version. */
  ready: boolean;
  /** Why the latest version is not serving (the last good version, if any, still is). */
  error?: string;
  /** The version that is serving. */
  servingGeneration?: number;
  /** Older policies this one conflicts with (src/policy/policy-conflicts.ts): it does not serve; `error` says why. */
  conflictsWith?: string[];
}

export interface PolicySet {
  current(): readonly Policy[];
  states(): readonly PolicyLoadState[];
  /** Resolves once the initial load is done. */
  ready(): boolean;
  onChange(listener: () => void): void;
  stop(): Promise<void>;
}

/** Holder shared by the sources: keeps policies in precedence order and notifies listeners. */
export class PolicyHolder {
  private policies: readonly Policy[] = [];
  private loadStates: readonly PolicyLoadState[] = [];
  private readonly listeners: Array<() => void> = [];

  current(): readonly Policy[] {
    return this.policies;
  }

  states(): readonly PolicyLoadState[] {
    return this.loadStates;
  }

  replace(policies: Policy[], states: PolicyLoadState[]): void {
    this.policies = Object.freeze([...policies].sort(comparePolicies));
    this.loadStates = Object.freeze([...states].sort((a, b) => a.name.localeCompare(b.name)));
    for (const listener of this.listeners) listener();
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }
}

/** The PolicySet view of a holder, for sources to return. */
export function policySetOf(holder: PolicyHolder, ready: () => boolean, stop: () => Promise<void>): PolicySet {
  return {
    current: () => holder.current(),
    states: () => holder.states(),
    ready,
    onChange: (listener) => holder.onChange(listener),
    stop,
  };
}

/** A fixed set (the embedded default, tests). */
export function staticPolicySet(policies: Policy[], origin = 'embedded'): PolicySet {
  const holder = new PolicyHolder();
  holder.replace(policies, policies.map((policy) => ({ name: policy.name, origin, ready: true })));
  return policySetOf(holder, () => true, async () => undefined);
}
