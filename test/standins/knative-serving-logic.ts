// Knative Serving controller STAND-IN — the pure part: from a Service's spec, its revisions and the
// registry's answer to the statuses the real controllers (knative/serving 1.23) would write.
// No I/O here; knative-serving-standin.ts does the watching, the registry requests and the writes.
// Formats and reasons follow /work/shared/fixtures/NOTES.md §1.6–1.7 and the knative-status fixtures.

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime: string;
  severity?: string;
}

export interface TrafficTarget {
  tag?: string;
  revisionName?: string;
  configurationName?: string;
  latestRevision?: boolean;
  percent?: number;
  url?: string;
}

export interface ServiceStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  latestCreatedRevisionName?: string;
  latestReadyRevisionName?: string;
  url?: string;
  address?: { url: string };
  traffic?: TrafficTarget[];
}

export interface KService {
  metadata: {
    name: string;
    namespace?: string;
    generation?: number;
    labels?: Record<string, string>;
    uid?: string;
  };
  spec?: {
    template?: {
      metadata?: { name?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
      spec?: { containers?: Array<{ name?: string; image?: string }>; [k: string]: unknown };
    };
    traffic?: TrafficTarget[];
  };
  status?: ServiceStatus;
}

/** What the stand-in knows about one revision of the Service. */
export interface RevisionInfo {
  name: string;
  configurationGeneration: number;
  /** true = Ready True, false = Ready False, undefined = still Unknown */
  ready: boolean | undefined;
  /** the Revision's Ready message when it failed */
  message?: string;
}

/** The registry's answer for one container image: a digest, or the resolver's error text. */
export type DigestAnswer = { ok: true; digest: string } | { ok: false; error: string };

export interface RevisionStatus {
  observedGeneration: number;
  conditions: Condition[];
  containerStatuses?: Array<{ name: string; imageDigest: string }>;
}

export const DOMAIN = 'example.com';
export const CLUSTER_DOMAIN = 'svc.cluster.local';
const VISIBILITY_LABEL = 'networking.knative.dev/visibility';
const NEW_GEN_REASON = 'NewObservedGenFailure';
const NEW_GEN_MESSAGE = 'unsuccessfully observed a new generation';

// ---- conditions ---------------------------------------------------------------------------------

type CondInput = Omit<Condition, 'lastTransitionTime'>;

/**
 * Sets conditions the way knative.dev/pkg's condition manager does: lastTransitionTime only moves when
 * status, reason or message change; the list stays sorted by type.
 */
export function setConditions(
  previous: Condition[] | undefined,
  updates: CondInput[],
  now: string,
): Condition[] {
  const byType = new Map<string, Condition>();
  for (const c of previous ?? []) byType.set(c.type, c);
  for (const u of updates) {
    const old = byType.get(u.type);
    const same =
      old !== undefined &&
      old.status === u.status &&
      (old.reason ?? '') === (u.reason ?? '') &&
      (old.message ?? '') === (u.message ?? '');
    const next: Condition = {
      type: u.type,
      status: u.status,
      lastTransitionTime: same ? old.lastTransitionTime : now,
    };
    if (u.reason) next.reason = u.reason;
    if (u.message) next.message = u.message;
    if (u.severity) next.severity = u.severity;
    byType.set(u.type, next);
  }
  return [...byType.values()].sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0));
}

export function getCondition(conds: Condition[] | undefined, type: string): Condition | undefined {
  return conds?.find((c) => c.type === type);
}

// ---- names and addresses ------------------------------------------------------------------------

/** `<configuration>-<5-digit configuration generation>`, or the "bring your own" template name. */
export function revisionNameFor(svc: KService, configurationGeneration: number): string {
  const byo = svc.spec?.template?.metadata?.name;
  if (byo) return byo;
  return `${svc.metadata.name}-${String(configurationGeneration).padStart(5, '0')}`;
}

function isClusterLocal(svc: KService): boolean {
  return svc.metadata.labels?.[VISIBILITY_LABEL] === 'cluster-local';
}

export function serviceUrl(svc: KService): string {
  const ns = svc.metadata.namespace ?? 'default';
  return `http://${svc.metadata.name}.${ns}.${isClusterLocal(svc) ? CLUSTER_DOMAIN : DOMAIN}`;
}

export function tagUrl(svc: KService, tag: string): string {
  const ns = svc.metadata.namespace ?? 'default';
  return `http://${tag}-${svc.metadata.name}.${ns}.${isClusterLocal(svc) ? CLUSTER_DOMAIN : DOMAIN}`;
}

export function addressUrl(svc: KService): string {
  return `http://${svc.metadata.name}.${svc.metadata.namespace ?? 'default'}.${CLUSTER_DOMAIN}`;
}

// ---- revision -----------------------------------------------------------------------------------

/** The first status of a new Revision, while its digests are being resolved. */
export function revisionResolvingStatus(now: string): RevisionStatus {
  return {
    observedGeneration: 1,
    conditions: setConditions(
      undefined,
      [
        { type: 'ContainerHealthy', status: 'Unknown' },
        { type: 'Ready', status: 'Unknown' },
        { type: 'ResourcesAvailable', status: 'Unknown', reason: 'ResolvingDigests' },
      ],
      now,
    ),
  };
}

/**
 * Revision status after digest resolution (revision_lifecycle.go): every image resolved → Ready with
 * containerStatuses[].imageDigest; the first failure → ContainerHealthy and Ready False/ContainerMissing
 * with `Unable to fetch image "<img>": failed to resolve image to digest: <registry error>`, and
 * ResourcesAvailable left Unknown/ResolvingDigests (fixture revision-failed-container-missing.yaml).
 */
export function revisionResolvedStatus(
  containers: Array<{ name?: string; image?: string }>,
  answers: DigestAnswer[],
  previous: RevisionStatus | undefined,
  now: string,
): RevisionStatus {
  const prev = previous?.conditions;
  for (let i = 0; i < containers.length; i++) {
    const a = answers[i];
    if (a && !a.ok) {
      const message = `Unable to fetch image "${containers[i]?.image ?? ''}": failed to resolve image to digest: ${a.error}`;
      return {
        observedGeneration: 1,
        conditions: setConditions(
          prev,
          [
            { type: 'ContainerHealthy', status: 'False', reason: 'ContainerMissing', message },
            { type: 'Ready', status: 'False', reason: 'ContainerMissing', message },
            { type: 'ResourcesAvailable', status: 'Unknown', reason: 'ResolvingDigests' },
          ],
          now,
        ),
      };
    }
  }
  return {
    observedGeneration: 1,
    conditions: setConditions(
      prev,
      [
        { type: 'ContainerHealthy', status: 'True' },
        { type: 'Ready', status: 'True' },
        { type: 'ResourcesAvailable', status: 'True' },
      ],
      now,
    ),
    containerStatuses: containers.map((c, i) => {
      const a = answers[i];
      return { name: c.name ?? 'user-container', imageDigest: a && a.ok ? a.digest : (c.image ?? '') };
    }),
  };
}

export function revisionInfoFromStatus(
  name: string,
  configurationGeneration: number,
  status: RevisionStatus | undefined,
): RevisionInfo {
  const ready = getCondition(status?.conditions, 'Ready');
  const info: RevisionInfo = {
    name,
    configurationGeneration,
    ready: ready?.status === 'True' ? true : ready?.status === 'False' ? false : undefined,
  };
  if (ready?.message) info.message = ready.message;
  return info;
}

// ---- service ------------------------------------------------------------------------------------

/**
 * What the generic reconciler does when it starts on a new generation (reconcile_common.go
 * PreProcessReconcile): missing conditions become Unknown and the top-level Ready becomes
 * Unknown/NewObservedGenFailure. observedGeneration is not bumped yet.
 */
export function beginReconcileStatus(svc: KService, now: string): ServiceStatus {
  const prev = svc.status ?? {};
  const updates: CondInput[] = [];
  for (const t of ['ConfigurationsReady', 'RoutesReady']) {
    if (!getCondition(prev.conditions, t)) updates.push({ type: t, status: 'Unknown' });
  }
  updates.push({ type: 'Ready', status: 'Unknown', reason: NEW_GEN_REASON, message: NEW_GEN_MESSAGE });
  return { ...prev, conditions: setConditions(prev.conditions, updates, now) };
}

export interface ServiceStatusInput {
  service: KService;
  /** the revision of the current template (created by this reconcile or an earlier one) */
  latestCreated: RevisionInfo;
  /** every revision of this Service that exists, including latestCreated */
  revisions: RevisionInfo[];
  now: string;
}

/** Configuration + Route + Service propagation (service_lifecycle.go, configuration_lifecycle.go, route.go). */
export function serviceStatus(input: ServiceStatusInput): ServiceStatus {
  const { service: svc, latestCreated, revisions, now } = input;
  const name = svc.metadata.name;
  const prev = svc.status ?? {};
  const latestReady = newestReady(revisions);

  // ConfigurationsReady mirrors the Configuration's Ready: its latest created revision.
  let config: CondInput;
  if (latestCreated.ready === true) config = { type: 'ConfigurationsReady', status: 'True' };
  else if (latestCreated.ready === false) {
    config = {
      type: 'ConfigurationsReady',
      status: 'False',
      reason: 'RevisionFailed',
      message: `Revision "${latestCreated.name}" failed with message: ${latestCreated.message ?? ''}.`,
    };
  } else {
    config = {
      type: 'ConfigurationsReady',
      status: 'Unknown',
      reason: 'OutOfDate',
      message: 'The Configuration is still working to reflect the latest desired specification.',
    };
  }

  // RoutesReady: every traffic target must name a ready revision.
  const spec =
    svc.spec?.traffic && svc.spec.traffic.length > 0
      ? svc.spec.traffic
      : [{ latestRevision: true, percent: 100 }];
  const byName = new Map(revisions.map((r) => [r.name, r]));
  let route: CondInput = { type: 'RoutesReady', status: 'True' };
  const traffic: TrafficTarget[] = [];
  for (const t of spec) {
    const floating = t.latestRevision === true || (t.latestRevision === undefined && !t.revisionName);
    let revisionName: string | undefined;
    if (floating) {
      if (!latestReady) {
        route =
          latestCreated.ready === undefined
            ? {
                type: 'RoutesReady',
                status: 'Unknown',
                reason: 'RevisionMissing',
                message: `Configuration "${name}" is waiting for a Revision to become ready.`,
              }
            : {
                type: 'RoutesReady',
                status: 'False',
                reason: 'RevisionMissing',
                message: `Configuration "${name}" does not have any ready Revision.`,
              };
        break;
      }
      revisionName = latestReady.name;
    } else {
      const pinned = byName.get(t.revisionName ?? '');
      if (!pinned || pinned.ready !== true) {
        route =
          pinned && pinned.ready === undefined
            ? {
                type: 'RoutesReady',
                status: 'Unknown',
                reason: 'RevisionMissing',
                message: `Revision "${t.revisionName}" is waiting for a Revision to become ready.`,
              }
            : {
                type: 'RoutesReady',
                status: 'False',
                reason: 'RevisionMissing',
                message: `Revision "${t.revisionName}" referenced in traffic not found.`,
              };
        break;
      }
      revisionName = pinned.name;
    }
    const out: TrafficTarget = {};
    if (t.tag) out.tag = t.tag;
    out.latestRevision = floating;
    out.percent = t.percent ?? 0;
    out.revisionName = revisionName;
    if (t.tag) out.url = tagUrl(svc, t.tag);
    traffic.push(out);
  }
  // While the new revision is still being resolved the route keeps serving the old one.
  if (route.status === 'True' && latestCreated.ready === undefined && latestReady) {
    route = {
      type: 'RoutesReady',
      status: 'Unknown',
      reason: 'TrafficNotMigrated',
      message: 'Traffic is not yet migrated to the latest revision.',
    };
  }

  // Ready: True when both are; otherwise it mirrors the unhappy dependent, False beating Unknown and
  // the Route (propagated after the Configuration) winning a tie.
  let ready: CondInput;
  if (config.status === 'True' && route.status === 'True') ready = { type: 'Ready', status: 'True' };
  else {
    const unhappy =
      route.status === 'False'
        ? route
        : config.status === 'False'
          ? config
          : route.status !== 'True'
            ? route
            : config;
    ready = { type: 'Ready', status: unhappy.status, ...pick(unhappy) };
  }

  const status: ServiceStatus = {
    observedGeneration: svc.metadata.generation ?? 0,
    conditions: setConditions(prev.conditions, [config, route, ready], now),
    latestCreatedRevisionName: latestCreated.name,
  };
  if (latestReady) status.latestReadyRevisionName = latestReady.name;
  status.url = serviceUrl(svc);
  // address and traffic appear only once every traffic target could be assigned (route.go).
  if (route.status !== 'False' && traffic.length === spec.length) {
    status.address = { url: addressUrl(svc) };
    status.traffic = traffic;
  } else if (route.status === 'False' && prev.traffic && prev.address) {
    // A route that cannot assign new targets keeps its last programmed traffic.
    status.address = prev.address;
    status.traffic = prev.traffic;
  }
  return status;
}

function pick(c: CondInput): { reason?: string; message?: string } {
  const out: { reason?: string; message?: string } = {};
  if (c.reason) out.reason = c.reason;
  if (c.message) out.message = c.message;
  return out;
}

function newestReady(revisions: RevisionInfo[]): RevisionInfo | undefined {
  let best: RevisionInfo | undefined;
  for (const r of revisions) {
    if (r.ready === true && (!best || r.configurationGeneration > best.configurationGeneration)) best = r;
  }
  return best;
}

/**
 * A new generation, or a label change that moves the URL (visibility cluster-local): label changes do
 * not bump the generation, but the route reconciler still recomputes the domain.
 */
export function needsReconcile(svc: KService): boolean {
  if (svc.status?.observedGeneration !== svc.metadata.generation) return true;
  return svc.status?.url !== undefined && svc.status.url !== serviceUrl(svc);
}

/** Service.IsReady() / IsFailed() (service_lifecycle.go). */
export function isServiceSettled(svc: KService): 'ready' | 'failed' | 'pending' {
  const ready = getCondition(svc.status?.conditions, 'Ready');
  if (svc.status?.observedGeneration !== svc.metadata.generation || !ready) return 'pending';
  return ready.status === 'True' ? 'ready' : ready.status === 'False' ? 'failed' : 'pending';
}
