// Who this process is to the API server (a SelfSubjectReview: any authenticated user may ask, no RBAC needed). The
// webhook uses it as the controller's username when none is configured: the chart runs both under one account.
import type * as k8s from '@kubernetes/client-node';
import { apiRequests, resourcePath } from './api-requests.ts';

export async function selfUsername(config: k8s.KubeConfig): Promise<string> {
  const review = await apiRequests(config).json<k8s.V1SelfSubjectReview>('POST', resourcePath({ group: 'authentication.k8s.io', version: 'v1', resource: 'selfsubjectreviews' }), {
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
  });
  const username = review.status?.userInfo?.username;
  if (!username) throw new Error('the API server did not say who this process is (SelfSubjectReview without a username)');
  return username;
}
