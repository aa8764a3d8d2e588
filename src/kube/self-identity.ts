// Who this process is to the API server (a SelfSubjectReview: any authenticated user may ask, no RBAC needed). The
// webhook uses it as the controller's username when none is configured: the chart runs both under one account.
import * as k8s from '@kubernetes/client-node';

export async function selfUsername(config: k8s.KubeConfig): Promise<string> {
  const api = config.makeApiClient(k8s.AuthenticationV1Api);
  const review = await api.createSelfSubjectReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } });
  const username = review.status?.userInfo?.username;
  if (!username) throw new Error('the API server did not say who this process is (SelfSubjectReview without a username)');
  return username;
}
