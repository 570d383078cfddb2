// The deploy stage: Knative Services applied, waited for, deleted. main.ts loads this module lazily
// (it pulls in @kubernetes/client-node on connect).
export {
  connectCluster,
  parseIngressService,
  type Cluster,
  type ConnectOptions,
  type DeleteResult,
  type DeployRequest,
  type DeployResult,
  type DeployTiming,
} from './cluster.js';
export { ForbiddenError, KnativeNotInstalledError, UnauthorizedError, KubeApiError } from './errors.js';
export { ApplyConflictError, FIELD_MANAGER } from './knative-api.js';
export { renderService, type KnativeService, type ServiceTarget } from './render-service.js';
export { decodeKubeconfigInput, kubeconfigSecrets } from './kubeconfig.js';
