// The storage decides the rules: whatever policy a Pod's labels select, the policies that own the storage it
// reaches apply, all of them, in any order. Each case is an attack (or a wrongly refused sandbox) from the issue.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { staticNamespaceLabels } from '../../src/admission/namespace-labels.ts';
import { ownershipProof } from '../../src/admission/ownership-proof.ts';
import { reviewValidation } from '../../src/webhook/validate.ts';
import { workspaceClaimName, workspaceIdentityHash } from '../../src/naming/identity-names.ts';
import type { Policy } from '../../src/policy/types.ts';
import { examplePolicy, podMounting, podWith, requesters, sandboxLabels, sharedVolume } from '../fixtures/isolation.ts';
import { admissionReviewFor, policyFrom } from '../fixtures/pods.ts';
import { ownershipProofAnnotation } from '../../src/labels.ts';
import { decideAdmission } from '../../src/webhook/decide.ts';

const shared = examplePolicy('shared');
const key = randomBytes(32);

/** Same claim and templates as `shared`, selected by one more label, without requester binding or with other exemptions. */
function laxSharedPolicy(overrides: { userLabel?: string; exemptUsers?: string[] } = {}): Policy {
  return policyFrom(
    {
      mode: 'shared',
      podSelector: { matchLabels: { 'sandbox-storage.io/inject': 'true', tier: 'lax' } },
      identity: overrides.userLabel ? { userLabel: overrides.userLabel } : {},
      shared: {
        claimName: 'sandbox-data',
        mounts: [
          { subPath: 'users/{user}/threads/{thread}/user-data', mountPath: '/sandbox' },
          { subPath: 'users/{user}/skills', mountPath: '/skills', readOnly: true },
        ],
      },
      isolation: { exemptions: { users: overrides.exemptUsers ?? [] } },
    },
    'lax',
  );
}

async function decide(policies: Policy[], pod: unknown, userInfo: object, claims: Record<string, unknown> = {}) {
  const body = admissionReviewFor(pod, { userInfo, namespace: 'tenants' });
  return decideAdmission(body, {
    policies,
    namespaceLabels: staticNamespaceLabels(undefined),
    claimMetadata: async () => claims as never,
    ownershipKey: key,
  });
}

/** The answer for both orders of the policies: the decision must not depend on it. */
async function decideInEveryOrder(policies: Policy[], pod: unknown, userInfo: object, claims: Record<string, unknown> = {}) {
  const forward = await decide(policies, pod, userInfo, claims);
  const backward = await decide([...policies].reverse(), pod, userInfo, claims);
  expect(backward.decided.response.allowed).toBe(forward.decided.response.allowed);
  return forward.decided.response;
}

describe('a laxer policy chosen by labels', () => {
  it("a plain user claiming another user's id through a policy without binding is refused by the binding of the storage's other owner", async () => {
    const pod = podWith({ labels: { ...sandboxLabels('bob'), tier: 'lax' } });
    const response = await decideInEveryOrder([shared, laxSharedPolicy()], pod, requesters.alice);
    expect(response.allowed).toBe(false);
    expect(response.status?.message).toMatch(/requester "alice" may only use user id "alice", not "bob" \[rule RequesterBinding, spec.isolation.requesters of policy "shared"\]/);
  });

  it('the same holds when the laxer policy reads the user id from another label', async () => {
    const lax = laxSharedPolicy({ userLabel: 'lax.example/user' });
    const labels = { 'sandbox-storage.io/inject': 'true', tier: 'lax', 'lax.example/user': 'bob', 'sandbox-storage.io/thread': 't1' };
    const response = await decideInEveryOrder([shared, lax], podWith({ labels }), requesters.alice);
    expect(response.allowed).toBe(false);
    expect(response.status?.message).toMatch(/users\/bob\/threads\/t1\/user-data.*not "bob" \[rule StorageOwnerBinding, spec.isolation.requesters of policy "shared"\]/);
  });

  it('the trusted spawner still creates the sandbox through the stricter policy', async () => {
    const response = await decideInEveryOrder([shared, laxSharedPolicy()], podWith({ labels: sandboxLabels('bob') }), requesters.spawner);
    expect(response.allowed).toBe(true);
  });

  it("an exemption of one owner policy does not lift the other owner's rules", async () => {
    const lax = laxSharedPolicy({ exemptUsers: ['alice'] });
    const pod = podMounting({}, sharedVolume(), { subPath: '' });
    const response = await decideInEveryOrder([shared, lax], pod, requesters.alice);
    expect(response.allowed).toBe(false);
    expect(response.status?.message).toMatch(/mounted at its root \[rule SharedVolumeRoot, policy "shared", "lax"\]|mounted at its root \[rule SharedVolumeRoot, policy "lax", "shared"\]/);
    // Exempt under every owner: allowed.
    const both = await decideInEveryOrder([shared, laxSharedPolicy({ exemptUsers: [requesters.gateway.username] })], pod, requesters.gateway);
    expect(both.allowed).toBe(true);
  });
});

describe('the policy annotation is the webhook\'s, not the requester\'s', () => {
  it('a Pod no policy selects cannot carry it', async () => {
    const pod = podWith({ labels: {} }) as { metadata: Record<string, unknown> };
    pod.metadata.annotations = { 'sandbox-storage.io/policy': 'shared' };
    const { decided } = await decide([shared], pod, requesters.alice);
    expect(decided.response.allowed).toBe(false);
    expect(decided.response.status?.message).toMatch(/annotation sandbox-storage.io\/policy="shared" is not the requester's to set: no policy selects this pod \[rule PolicyAnnotation\]/);
  });

  it('a sandbox Pod gets the selecting policy written over a preset value', async () => {
    const pod = podWith({ labels: sandboxLabels('alice') }) as { metadata: Record<string, unknown> };
    pod.metadata.annotations = { 'sandbox-storage.io/policy': 'someone-elses' };
    const { decided } = await decide([shared], pod, requesters.spawner);
    expect(decided.response.allowed).toBe(true);
  });

  it('an UPDATE cannot change it', async () => {
    const before = podWith({ name: 's', labels: sandboxLabels('alice') }) as { metadata: Record<string, unknown> };
    before.metadata.annotations = { 'sandbox-storage.io/policy': 'shared' };
    const after = structuredClone(before);
    after.metadata.annotations = { 'sandbox-storage.io/policy': 'lax' };
    const outcome = await reviewValidation(admissionReviewFor(after, { operation: 'UPDATE', oldObject: before, userInfo: requesters.spawner }), {
      policies: [shared],
      namespaceLabels: staticNamespaceLabels(undefined),
    });
    expect(outcome.review.response.allowed).toBe(false);
    expect(outcome.review.response.status?.message).toMatch(/annotation sandbox-storage.io\/policy cannot change \("shared" → "lax"\) \[rule PolicyAnnotation\]/);
  });
});

describe('debug reach', () => {
  it("counts the ephemeral containers already in the Pod: a new one in a shared process namespace reaches their mounts", async () => {
    const pod = podWith({ name: 's', labels: sandboxLabels('alice'), volumes: [sharedVolume()] }) as { spec: Record<string, unknown> };
    pod.spec.shareProcessNamespace = true;
    const earlier = { name: 'earlier', image: 'tools', volumeMounts: [{ name: 'data', mountPath: '/d', subPath: 'users/bob/skills', readOnly: true }] };
    pod.spec.ephemeralContainers = [earlier];
    const after = structuredClone(pod);
    after.spec.ephemeralContainers = [earlier, { name: 'new', image: 'tools' }];
    const outcome = await reviewValidation(
      admissionReviewFor(after, { operation: 'UPDATE', subResource: 'ephemeralcontainers', oldObject: pod, userInfo: requesters.alice }),
      { policies: [shared], namespaceLabels: staticNamespaceLabels(undefined) },
    );
    expect(outcome.review.response.allowed).toBe(false);
    expect(outcome.review.response.status?.message).toMatch(/ephemeral container "new" would reach through the shared process namespace what container "earlier" mounts volume "data"/);
  });
});

describe('wrong refusals that must pass', () => {
  it('a volume-level persistentVolumeClaim.readOnly makes a read-only template mount read-only', async () => {
    const volume = { name: 'data', persistentVolumeClaim: { claimName: 'sandbox-data', readOnly: true } };
    const pod = podMounting(sandboxLabels('alice'), volume, { subPath: 'users/alice/skills' });
    const response = await decideInEveryOrder([shared], pod, requesters.spawner);
    expect(response.allowed).toBe(true);
  });

  it('overlapping claimNamePrefixes: each policy\'s own workspace is recognised as its own, in any order', async () => {
    const broad = policyFrom({ mode: 'workspace', workspace: { claimNamePrefix: 'ws-', scope: 'user' } }, 'broad');
    const team = policyFrom(
      { mode: 'workspace', podSelector: { matchLabels: { 'sandbox-storage.io/inject': 'true', team: 'a' } }, workspace: { claimNamePrefix: 'ws-a-', scope: 'user' } },
      'team',
    );
    const teamClaim = workspaceClaimName('ws-a-', { scope: 'user', user: 'alice' });
    const pod = podMounting({ 'sandbox-storage.io/inject': 'true', 'sandbox-storage.io/user': 'alice', team: 'a' }, { name: 'w', persistentVolumeClaim: { claimName: teamClaim } }, {});
    const response = await decideInEveryOrder([broad, team], pod, requesters.alice);
    expect(response.allowed).toBe(true);
  });
});

describe('existing workspace PVCs count only with an ownership proof', () => {
  const workspace = policyFrom({ mode: 'workspace', workspace: { claimNamePrefix: 'sandbox-', scope: 'thread' } }, 'workspace');
  const identity = { scope: 'thread' as const, user: 'alice', thread: 't1' };
  const name = workspaceClaimName('sandbox-', identity);
  const hash = workspaceIdentityHash(identity);
  const labels = { 'app.kubernetes.io/managed-by': 'sandbox-storage-webhook', 'sandbox-storage.io/identity-hash': hash, 'sandbox-storage.io/user': 'alice' };
  const pod = podMounting(sandboxLabels('alice'), { name: 'w', persistentVolumeClaim: { claimName: name } }, {});
  const proofFor = (statement: { policy?: string; identityHash?: string; name?: string }, withKey = key) =>
    ownershipProof(withKey, { namespace: 'tenants', name: statement.name ?? name, policy: statement.policy ?? 'workspace', role: 'workspace', identityHash: statement.identityHash ?? hash });

  it('a PVC planted with the right name and labels but no proof is never mounted, even for the identity it names', async () => {
    const { decided } = await decide([workspace], pod, requesters.alice, { [name]: { labels, annotations: {} } });
    expect(decided.response.allowed).toBe(false);
    expect(decided.response.status?.message).toMatch(new RegExp(`PVC "${name}" exists in the workspace names of policy "workspace" but carries no valid ownership proof .* \\[rule UnprovenClaim\\]`));
  });

  it.each([
    ['made with another key', () => proofFor({}, randomBytes(32))],
    ['for another policy', () => proofFor({ policy: 'other' })],
    ['copied from another PVC', () => proofFor({ name: workspaceClaimName('sandbox-', { ...identity, thread: 't2' }) })],
    ['garbage', () => 'v1:AAAA'],
  ])('a proof %s does not count', async (_, proof) => {
    const { decided } = await decide([workspace], pod, requesters.alice, { [name]: { labels, annotations: { [ownershipProofAnnotation]: proof() } } });
    expect(decided.response.status?.message).toMatch(/\[rule UnprovenClaim\]/);
  });

  it('the controller\'s proof makes it the identity\'s workspace; another identity still cannot mount it', async () => {
    const claims = { [name]: { labels, annotations: { [ownershipProofAnnotation]: proofFor({}) } } };
    expect((await decide([workspace], pod, requesters.alice, claims)).decided.response.allowed).toBe(true);
    const bobs = podMounting(sandboxLabels('bob'), { name: 'w', persistentVolumeClaim: { claimName: name } }, {});
    const { decided } = await decide([workspace], bobs, requesters.bob, claims);
    expect(decided.response.status?.message).toMatch(/is not the workspace of user "bob" \[rule ForeignWorkspaceClaim/);
  });

  it('a valid proof whose identity hash is not the Pod identity\'s is refused', async () => {
    const otherHash = workspaceIdentityHash({ ...identity, user: 'mallory' });
    const claims = { [name]: { labels: { ...labels, 'sandbox-storage.io/identity-hash': otherHash }, annotations: { [ownershipProofAnnotation]: proofFor({ identityHash: otherHash }) } } };
    const { decided } = await decide([workspace], pod, requesters.alice, claims);
    expect(decided.response.status?.message).toMatch(/is not the workspace of user "alice" \[rule ForeignWorkspaceClaim/);
  });
});

describe('requester binding holds across every policy of the namespace', () => {
  const otherClaim = policyFrom(
    {
      mode: 'shared',
      podSelector: { matchLabels: { 'lax.example/sandbox': 'true' } },
      shared: { claimName: 'lax-data', mounts: [{ subPath: 'users/{user}', mountPath: '/sandbox' }] },
    },
    'lax-elsewhere',
  );
  const labels = { 'lax.example/sandbox': 'true', 'sandbox-storage.io/user': 'bob' };

  it('a Pod only a policy without binding selects still cannot claim another user id where another policy binds them', async () => {
    const response = await decideInEveryOrder([shared, otherClaim], podWith({ labels }), requesters.alice);
    expect(response.allowed).toBe(false);
    expect(response.status?.message).toMatch(/requester "alice" may only use user id "alice", not "bob" \[rule RequesterBinding, spec.isolation.requesters of policy "shared"\]/);
  });

  it('its own id, or the trusted spawner, passes', async () => {
    expect((await decideInEveryOrder([shared, otherClaim], podWith({ labels: { ...labels, 'sandbox-storage.io/user': 'alice' } }), requesters.alice)).allowed).toBe(true);
    expect((await decideInEveryOrder([shared, otherClaim], podWith({ labels }), requesters.spawner)).allowed).toBe(true);
  });
});
