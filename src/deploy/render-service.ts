import type { FunctionSpec } from '../plan/types.js';
import { requestTimeouts } from '../package/render-dockerfile.js';

import {
  COMMIT_ANNOTATION,
  CONTENT_TAG_ANNOTATION,
  DEPLOYED_AT_ANNOTATION,
  FUNCTION_LABEL,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  PR_LABEL,
  RUN_URL_ANNOTATION,
  ownerMetadata,
} from '../kube/ownership.js';

export { MANAGED_BY, MANAGED_BY_LABEL, PR_LABEL } from '../kube/ownership.js';
export const VISIBILITY_LABEL = 'networking.knative.dev/visibility';

export interface ServiceTarget {
  service: string;
  namespace: string;
  /** Image reference, by digest once it is known (…@sha256:…). */
  image: string;
  pullRequest?: number;
  commit?: string;
  runUrl?: string;
  imagePullSecret?: string;
  /** `owner/repo` of the repository deploying it: the ownership labels (README, "Ownership"). */
  repository?: string;
  /** The image's content tag, so the next run knows what runs without reading the image. */
  contentTag?: string;
  /** When this content is deployed (ISO 8601), for `mode: sweep`'s preview-ttl. */
  deployedAt?: string;
}

/** A Knative Service object (serving.knative.dev/v1) as faas-deploy applies it. */
export type KnativeService = {
  apiVersion: 'serving.knative.dev/v1';
  kind: 'Service';
  metadata: {
    name: string;
    namespace: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
  };
  spec: {
    template: {
      metadata: { labels: Record<string, string>; annotations?: Record<string, string> };
      spec: Record<string, unknown>;
    };
  };
};

/**
 * Renders the Service for a function. Only fields Knative's webhook accepts are written (knative/serving
 * pkg/apis/serving/metadata_validation.go and k8s_validation.go): autoscaling annotations on the
 * revision template, one port, no reserved environment variables.
 */
export function renderService(spec: FunctionSpec, target: ServiceTarget): KnativeService {
  const owner = target.repository
    ? ownerMetadata(
        target.repository,
        target.pullRequest !== undefined
          ? { kind: 'preview', pullRequest: target.pullRequest }
          : { kind: 'deploy' },
      )
    : undefined;
  const labels: Record<string, string> = {
    [MANAGED_BY_LABEL]: MANAGED_BY,
    [FUNCTION_LABEL]: spec.name,
    ...owner?.labels,
  };
  if (target.pullRequest !== undefined) labels[PR_LABEL] = String(target.pullRequest);
  if (spec.visibility === 'cluster-local') labels[VISIBILITY_LABEL] = 'cluster-local';

  const annotations: Record<string, string> = { ...owner?.annotations };
  if (target.commit) annotations[COMMIT_ANNOTATION] = target.commit;
  if (target.contentTag) annotations[CONTENT_TAG_ANNOTATION] = target.contentTag;
  if (target.deployedAt) annotations[DEPLOYED_AT_ANNOTATION] = target.deployedAt;
  if (target.runUrl) annotations[RUN_URL_ANNOTATION] = target.runUrl;

  const scaling: Record<string, string> = {};
  if (spec.scale.min !== undefined) scaling['autoscaling.knative.dev/min-scale'] = String(spec.scale.min);
  if (spec.scale.max !== undefined) scaling['autoscaling.knative.dev/max-scale'] = String(spec.scale.max);
  if (spec.scale.target !== undefined) scaling['autoscaling.knative.dev/target'] = String(spec.scale.target);

  const container: Record<string, unknown> = {
    name: 'function',
    image: target.image,
    ports: [{ name: 'http1', containerPort: 8080 }],
    // The classic watchdog answers /_/health once it runs; of-watchdog answers /_/ready only once
    // the function's own server is up.
    readinessProbe: { httpGet: { path: spec.watchdog === 'of-watchdog' ? '/_/ready' : '/_/health' } },
  };
  const env = Object.entries(spec.env)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, value]) => ({ name, value }));
  if (env.length > 0) container['env'] = env;
  if (spec.secrets.length > 0) container['envFrom'] = spec.secrets.map((name) => ({ secretRef: { name } }));
  const requests: Record<string, string> = {};
  if (spec.resources.cpu) requests['cpu'] = spec.resources.cpu;
  if (spec.resources.memory) requests['memory'] = spec.resources.memory;
  if (Object.keys(requests).length > 0) {
    // Memory is limited at the request (a function over it is restarted); CPU is not, to avoid throttling.
    container['resources'] = {
      requests,
      ...(spec.resources.memory ? { limits: { memory: spec.resources.memory } } : {}),
    };
  }

  const podSpec: Record<string, unknown> = {
    ...(spec.concurrency !== undefined ? { containerConcurrency: spec.concurrency } : {}),
    timeoutSeconds: requestTimeouts(spec.timeoutSeconds).knativeTimeoutSeconds,
    containers: [container],
  };
  if (target.imagePullSecret) podSpec['imagePullSecrets'] = [{ name: target.imagePullSecret }];

  return {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name: target.service, namespace: target.namespace, labels, annotations },
    spec: {
      template: {
        metadata: {
          labels: { [FUNCTION_LABEL]: spec.name },
          ...(Object.keys(scaling).length > 0 ? { annotations: scaling } : {}),
        },
        spec: podSpec,
      },
    },
  };
}
