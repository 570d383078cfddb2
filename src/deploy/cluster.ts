// The deploy stage's view of the cluster, over the connection main opened (src/kube): deploy a
// function and wait until Knative has rolled out *this* change, delete a Service, delete a pull
// request's previews, find the ingress address.
import type { FunctionSpec } from '../plan/types.js';
import type { KubeConnection } from '../kube/connection.js';
import type { CollectionWatch, WatchStats } from '../kube/watch.js';
import { describeError, UserError } from '../util/errors.js';
import { ApplyConflictError, KnativeApi, KNATIVE_SERVICES } from './knative-api.js';
import {
  explainFailure,
  settlement,
  type AppliedRef,
  type Condition,
  type LiveService,
} from './knative-status.js';
import {
  isOwnedBy,
  liveServiceInfo,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  ownedSelector,
  PR_LABEL,
  type LiveServiceInfo,
  type Role,
} from '../kube/ownership.js';
import { renderService, VISIBILITY_LABEL } from './render-service.js';

export interface ClusterOptions {
  namespace: string;
  /** `owner/repo` (GITHUB_REPOSITORY): whose Services this run may touch. */
  repository: string;
  /** Input `ingress-address`: IP or host for the curl example's Host-header form. */
  ingressAddress?: string;
  /** Input `ingress-service`: `<namespace>/<name>` of the ingress gateway's LoadBalancer Service. */
  ingressService?: string;
  info?: (message: string) => void;
  warn?: (message: string) => void;
  debug?: (message: string) => void;
  /** Server-side timeout of each watch request; the watch resumes after it (default 240 s). */
  watchTimeoutSeconds?: number;
}

export interface DeployRequest {
  spec: FunctionSpec;
  /** Service name: `<fn>` or `<fn>-pr-<N>`. */
  service: string;
  /** Image by digest (`<registry>/<repo>/<fn>@sha256:…`), so every revision is immutable. */
  image: string;
  /** Content tag of the image, recorded on the Service for the next run's reconcile. */
  contentTag?: string;
  pullRequest?: number;
  commit?: string;
  runUrl?: string;
  imagePullSecret?: string;
  waitTimeoutSeconds: number;
  signal?: AbortSignal;
}

export interface DeployTiming {
  /** ms spent in the apply call. */
  applyMs: number;
  /** ms from the apply's answer until the settled state was seen. */
  waitMs: number;
  /** Date.now() when the settled state arrived on the watch. */
  settledAt: number;
}

export type DeployResult =
  | {
      status: 'ready';
      service: string;
      url: string;
      /** The revision serving: status.latestReadyRevisionName. */
      revision: string;
      /** Cluster-internal address (status.address.url). */
      address?: string;
      /** For `curl -H "Host: <host>" http://<address>`: public Services only, when an ingress address is known. */
      ingress?: { address: string; host: string };
      generation: number;
      timing: DeployTiming;
    }
  | {
      status: 'failed';
      service: string;
      /** One line for the report: Knative's reason and message, the Revision's, and what still serves. */
      reason: string;
      condition?: Condition;
      revision?: { name: string; condition?: Condition };
      previousRevisionServing?: string;
      url?: string;
      timedOut?: boolean;
      generation?: number;
      timing?: DeployTiming;
    };

export interface DeleteResult {
  service: string;
  deleted: boolean;
  /** Why nothing was deleted: absent, or not managed by faas-deploy. */
  reason?: string;
}

export interface Cluster {
  readonly namespace: string;
  readonly server: string;
  /** The kubeconfig user the requests run as. */
  readonly user: string;
  deployFunction(request: DeployRequest): Promise<DeployResult>;
  /**
   * Every Service this repository owns in the namespace (one list call by label), and, when some of
   * `names` is not among them, whatever other Service carries that name (one more list call).
   */
  liveServices(names: readonly string[]): Promise<Map<string, LiveServiceInfo>>;
  /** Every preview Service this repository owns in the namespace. */
  listPreviews(): Promise<LiveServiceInfo[]>;
  /** Deletes Service `name` if this repository owns it in that role; absent is fine. */
  deleteService(name: string, role?: Role): Promise<DeleteResult>;
  /** Deletes every Service this repository owns for pull request `pr`; returns their names. */
  deletePreviews(pr: number): Promise<string[]>;
  /** Input ingress-address, else the ingress Service's LoadBalancer address, else undefined. */
  ingressAddress(): Promise<string | undefined>;
  readonly watchStats: WatchStats;
  readonly retries: number;
  /** Stops the watch. The connection stays open: whoever opened it closes it. */
  close(): Promise<void>;
}

/** `<namespace>/<name>` of input ingress-service. */
export function parseIngressService(value: string): { namespace: string; name: string } {
  const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-a-z0-9]*[a-z0-9])?)$/.exec(value.trim());
  if (!m?.[1] || !m[3]) {
    throw new UserError(
      `Input "ingress-service" must be <namespace>/<name> of a Service, like kourier-system/kourier; got "${value}".`,
    );
  }
  return { namespace: m[1], name: m[3] };
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

/** The deploy stage's Cluster on an open connection; rejects a malformed input ingress-service. */
export function connectCluster(kube: KubeConnection, options: ClusterOptions): Promise<Cluster> {
  return new Promise((resolve) => {
    resolve(clusterOn(kube, options));
  });
}

function clusterOn(kube: KubeConnection, options: ClusterOptions): Cluster {
  const ingressService = options.ingressService ? parseIngressService(options.ingressService) : undefined;
  const debug = options.debug ?? (() => undefined);
  const warn = options.warn ?? (() => undefined);
  const namespace = options.namespace;
  const repository = options.repository;
  const api = new KnativeApi({ http: kube.http, namespace, warn });
  const watcher: CollectionWatch<LiveService> = api.resources.watch<LiveService>(
    KNATIVE_SERVICES,
    { labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY}` },
    {
      ...(options.watchTimeoutSeconds !== undefined
        ? { watchTimeoutSeconds: options.watchTimeoutSeconds }
        : {}),
      log: debug,
    },
  );
  options.info?.(`Kubernetes: ${kube.server} as ${kube.user} (${kube.source}), namespace ${namespace}`);

  let ingress: Promise<string | undefined> | undefined;
  const ingressAddress = (): Promise<string | undefined> => {
    ingress ??= (async () => {
      if (options.ingressAddress?.trim()) return options.ingressAddress.trim();
      if (!ingressService) return undefined;
      const where = `${ingressService.namespace}/${ingressService.name}`;
      // Only the curl examples need it: a refused or failed read costs them, never a deployment.
      let address: string | undefined;
      try {
        address = await api.loadBalancerAddress(ingressService.namespace, ingressService.name);
      } catch (error) {
        warn(
          `Cannot read the ingress address from Service ${where} (input ingress-service): ${describeError(error)} The curl examples use the URL only; set input ingress-address instead, or bind the Role faas-deploy-ingress of docs/rbac.yaml.`,
        );
        return undefined;
      }
      if (!address) {
        warn(`Service ${where} has no LoadBalancer address yet; the curl examples use the URL only.`);
      }
      return address;
    })();
    return ingress;
  };

  async function deployFunction(request: DeployRequest): Promise<DeployResult> {
    const { service: name, signal } = request;
    const rendered = renderService(request.spec, {
      service: name,
      namespace,
      image: request.image,
      repository,
      deployedAt: new Date().toISOString(),
      ...(request.contentTag ? { contentTag: request.contentTag } : {}),
      ...(request.pullRequest !== undefined ? { pullRequest: request.pullRequest } : {}),
      ...(request.commit ? { commit: request.commit } : {}),
      ...(request.runUrl ? { runUrl: request.runUrl } : {}),
      ...(request.imagePullSecret ? { imagePullSecret: request.imagePullSecret } : {}),
    });
    if (!/@sha256:[0-9a-f]{64}$/.test(request.image)) {
      warn(
        `Service "${name}": image ${request.image} is not referenced by digest; its revisions are not immutable.`,
      );
    }
    const started = Date.now();
    let applied: LiveService;
    try {
      applied = await api.apply(rendered, signal);
    } catch (error) {
      if (error instanceof ApplyConflictError) {
        return { status: 'failed', service: name, reason: error.message };
      }
      throw error;
    }
    const ref: AppliedRef = { uid: applied.metadata.uid ?? '', generation: applied.metadata.generation ?? 0 };
    const appliedAt = Date.now();
    debug(`Service "${name}": applied, generation ${ref.generation}; waiting for Ready`);

    // wait-timeout bounds the wait; an outer abort (the job being cancelled) ends it too.
    const timeout = new AbortController();
    const timer = setTimeout(() => {
      timeout.abort(new Error('wait-timeout'));
    }, request.waitTimeoutSeconds * 1000);
    const waitSignal = signal ? AbortSignal.any([signal, timeout.signal]) : timeout.signal;
    let settled: LiveService | undefined;
    let timedOut = false;
    try {
      settled = await watcher.waitFor(name, (svc) => settlement(svc, ref) !== 'pending', waitSignal);
    } catch (error) {
      if (!timeout.signal.aborted || signal?.aborted) throw error;
      timedOut = true;
    } finally {
      clearTimeout(timer);
    }
    const settledAt = Date.now();
    const timing: DeployTiming = { applyMs: appliedAt - started, waitMs: settledAt - appliedAt, settledAt };
    const last = settled ?? watcher.latest(name);
    const uid = last?.metadata.uid === ref.uid ? last : undefined;

    if (!timedOut && uid && settlement(uid, ref) === 'ready') {
      const url = uid.status?.url ?? '';
      const address = await ingressAddress();
      const clusterLocal = rendered.metadata.labels[VISIBILITY_LABEL] === 'cluster-local';
      return {
        status: 'ready',
        service: name,
        url,
        revision: uid.status?.latestReadyRevisionName ?? '',
        ...(uid.status?.address?.url ? { address: uid.status.address.url } : {}),
        ...(address && url && !clusterLocal ? { ingress: { address, host: hostOf(url) } } : {}),
        generation: ref.generation,
        timing,
      };
    }

    // Failed or timed out: the Revision Knative created last says why.
    const revisionName = uid?.status?.latestCreatedRevisionName;
    let revision;
    if (revisionName) {
      try {
        revision = await api.getRevision(revisionName, signal);
      } catch (error) {
        // Details only: a Role without revisions get still gets the Service's own reason.
        debug(`Revision ${revisionName}: ${describeError(error)}`);
      }
    }
    const detail = explainFailure(
      uid,
      revision,
      timedOut ? { seconds: request.waitTimeoutSeconds, generation: ref.generation } : undefined,
    );
    return {
      status: 'failed',
      service: name,
      reason: detail.reason,
      ...(detail.condition ? { condition: detail.condition } : {}),
      ...(detail.revision ? { revision: detail.revision } : {}),
      ...(detail.previousRevisionServing ? { previousRevisionServing: detail.previousRevisionServing } : {}),
      ...(uid?.status?.url ? { url: uid.status.url } : {}),
      ...(timedOut ? { timedOut: true } : {}),
      generation: ref.generation,
      timing,
    };
  }

  async function liveServices(names: readonly string[]): Promise<Map<string, LiveServiceInfo>> {
    const live = new Map<string, LiveServiceInfo>();
    for (const svc of await api.listServices(ownedSelector(repository))) {
      live.set(svc.metadata.name, liveServiceInfo(svc.metadata));
    }
    if (names.some((name) => !live.has(name))) {
      const wanted = new Set(names);
      for (const svc of await api.listServices(''))
        if (wanted.has(svc.metadata.name) && !live.has(svc.metadata.name))
          live.set(svc.metadata.name, liveServiceInfo(svc.metadata));
    }
    return live;
  }

  async function listPreviews(): Promise<LiveServiceInfo[]> {
    const services = await api.listServices(`${ownedSelector(repository)},${PR_LABEL}`);
    return services.map((svc) => liveServiceInfo(svc.metadata));
  }

  async function deleteService(name: string, role: Role = { kind: 'deploy' }): Promise<DeleteResult> {
    const live = await api.getService(name);
    if (!live) return { service: name, deleted: false, reason: 'absent' };
    if (!isOwnedBy(liveServiceInfo(live.metadata), repository, role)) {
      const reason = `not deleted: it is not labelled as ${role.kind === 'preview' ? `a preview of pull request #${role.pullRequest}` : 'a Service'} of repository ${repository} (${ownedSelector(repository, role)})`;
      warn(`Service "${name}": ${reason}`);
      return { service: name, deleted: false, reason };
    }
    return { service: name, ...(await api.deleteService(name, live)) };
  }

  async function deletePreviews(pr: number): Promise<string[]> {
    const deleted: string[] = [];
    for (const svc of await api.listServices(
      ownedSelector(repository, { kind: 'preview', pullRequest: pr }),
    )) {
      const result = await api.deleteService(svc.metadata.name, svc);
      if (result.deleted) deleted.push(svc.metadata.name);
    }
    return deleted.sort();
  }

  return {
    namespace,
    server: kube.server,
    user: kube.user,
    deployFunction,
    liveServices,
    listPreviews,
    deleteService,
    deletePreviews,
    ingressAddress,
    get watchStats() {
      return watcher.stats;
    },
    get retries() {
      return kube.http.retries;
    },
    async close() {
      await watcher.stop();
    },
  };
}
