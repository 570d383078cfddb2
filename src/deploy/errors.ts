// A cluster without Knative Serving, in words a user can act on; every other API error is described
// by the Kubernetes layer (src/kube/errors.ts).
import { ApiNotInstalledError } from '../kube/errors.js';

export const KNATIVE_GROUP = 'serving.knative.dev';

/** The serving.knative.dev API group is unknown to the server. */
export class KnativeNotInstalledError extends ApiNotInstalledError {
  override name = 'KnativeNotInstalledError';
  constructor(server: string) {
    super(
      `Knative Serving is not installed in the cluster at ${server}: the API server does not know the ` +
        `${KNATIVE_GROUP}/v1 services resource (404). Install Knative Serving (see docs/cluster-setup.md) ` +
        'or point the kubeconfig at a cluster that has it.',
    );
  }
}
