// The deploy stage: Knative Services applied, waited for, deleted, over the connection main opened
// (src/kube). main.ts loads this module lazily.
export {
  connectCluster,
  parseIngressService,
  type Cluster,
  type ClusterOptions,
  type DeleteResult,
  type DeployRequest,
  type DeployResult,
  type DeployTiming,
} from './cluster.js';
export { KnativeNotInstalledError } from './errors.js';
export { ApplyConflictError, FIELD_MANAGER } from './knative-api.js';
export { renderService, type KnativeService, type ServiceTarget } from './render-service.js';
