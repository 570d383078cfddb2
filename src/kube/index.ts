// The one Kubernetes layer, used by the deploy stage and the Tekton builder: credentials (input
// kubeconfig → KUBECONFIG → in-cluster, every credential masked as it is read), one HTTP client with
// its keep-alive pool and retries, typed REST calls, list+watch with resume and 410 re-list, and the
// error descriptions; who owns an object (the labels faas-deploy writes).
export { connectKube, type KubeConnectOptions, type KubeConnection } from './connection.js';
export {
  ApiNotInstalledError,
  ForbiddenError,
  KubeApiError,
  RBAC_DOC,
  UnauthorizedError,
  apiError,
  isUnknownResource,
  parseStatus,
  type KubeStatus,
  type RequestIntent,
} from './errors.js';
export { KubeHttp, DEFAULT_RETRY, type KubeRequest, type KubeResponse, type RetryPolicy } from './http.js';
export { decodeKubeconfigInput, kubeconfigSecrets } from './kubeconfig.js';
export {
  CONFIG_MAPS,
  CORE_SERVICES,
  KubeResources,
  SECRETS,
  rbacResource,
  resourcePath,
  type ResourceType,
  type Selector,
} from './resources.js';
export { CollectionWatch, type WatchStats, type WatchedObject } from './watch.js';
export {
  describeOwner,
  isOwnedBy,
  liveServiceInfo,
  ownedSelector,
  ownerMetadata,
  repositoryLabel,
  type LiveServiceInfo,
  type Role,
} from './ownership.js';
