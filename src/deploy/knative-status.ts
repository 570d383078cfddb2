// Reading a Knative Service's status: has Knative finished with *our* change, and if it failed, why.
// Pure functions; the rules are Knative's own (knative/serving pkg/apis/serving/v1/service_lifecycle.go,
// knative/pkg apis/condition_set.go): Service.IsReady() is `observedGeneration == generation && Ready
// True`, IsFailed() the same with Ready False. A Ready of an older generation describes the previous
// spec and is never trusted.

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

export interface TrafficTarget {
  revisionName?: string;
  latestRevision?: boolean;
  percent?: number;
  tag?: string;
  url?: string;
}

/** A Knative Service as read back from the API server (only the fields faas-deploy reads). */
export interface LiveService {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    generation?: number;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    managedFields?: ManagedFieldsEntry[];
    deletionTimestamp?: string;
  };
  spec?: unknown;
  status?: {
    observedGeneration?: number;
    conditions?: Condition[];
    url?: string;
    address?: { url?: string };
    latestCreatedRevisionName?: string;
    latestReadyRevisionName?: string;
    traffic?: TrafficTarget[];
  };
}

export interface ManagedFieldsEntry {
  manager?: string;
  operation?: 'Apply' | 'Update';
  subresource?: string;
  time?: string;
}

export interface LiveRevision {
  metadata: { name: string };
  status?: { conditions?: Condition[] };
}

export function condition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** What we applied: the generation and uid the API server answered our apply with. */
export interface AppliedRef {
  uid: string;
  generation: number;
}

export type Settlement = 'pending' | 'ready' | 'failed';

/**
 * Whether Knative has settled on our generation: the same object (uid), status.observedGeneration at
 * least the generation our apply returned, and Ready True or False. Anything else is still pending,
 * including a Ready=True left over from an older generation.
 */
export function settlement(svc: LiveService | undefined, applied: AppliedRef): Settlement {
  if (!svc || svc.metadata.uid !== applied.uid || svc.metadata.deletionTimestamp) return 'pending';
  if ((svc.status?.observedGeneration ?? 0) < applied.generation) return 'pending';
  const ready = condition(svc.status?.conditions, 'Ready');
  if (ready?.status === 'True') return 'ready';
  if (ready?.status === 'False') return 'failed';
  return 'pending';
}

/**
 * The revision that still takes traffic when the newest one is not it: the route keeps the last
 * ready revision when an update fails (fixture service-failed-update-previous-revision-serving.yaml).
 */
export function previousRevisionServing(svc: LiveService): string | undefined {
  const latest = svc.status?.latestCreatedRevisionName;
  const serving = (svc.status?.traffic ?? []).filter(
    (t) => (t.percent ?? 0) > 0 && t.revisionName && t.revisionName !== latest,
  );
  if (serving.length === 0) return undefined;
  return serving.map((t) => t.revisionName).join(', ');
}

function describeCondition(c: Condition | undefined): string {
  if (!c) return 'no Ready condition yet';
  const head = `Ready=${c.status}${c.reason ? ` ${c.reason}` : ''}`;
  return c.message ? `${head}: ${c.message}` : head;
}

/** The failure text for the report: the Service's Ready condition, the failed Revision's own reason. */
export interface FailureDetail {
  reason: string;
  condition?: Condition;
  revision?: { name: string; condition?: Condition };
  previousRevisionServing?: string;
}

/**
 * Explains a settled-failed (or timed-out) Service. The Revision named in latestCreatedRevisionName
 * carries the root cause (ContainerMissing, ExitCode…); the Service's Ready may only say that no
 * revision is ready (RevisionMissing), so both go into the reason when they differ.
 */
export function explainFailure(
  svc: LiveService | undefined,
  revision: LiveRevision | undefined,
  timedOut?: { seconds: number; generation: number },
): FailureDetail {
  const ready = condition(svc?.status?.conditions, 'Ready');
  const parts: string[] = [];
  if (timedOut) {
    const observed = svc?.status?.observedGeneration;
    const stale =
      observed === undefined || observed < timedOut.generation
        ? ` (Knative has observed generation ${observed ?? 'none'} of ${timedOut.generation})`
        : '';
    parts.push(
      `Not Ready after wait-timeout ${formatSeconds(timedOut.seconds)}: ${describeCondition(ready)}${stale}`,
    );
  } else {
    parts.push(
      ready?.reason && ready.message ? `${ready.reason}: ${ready.message}` : describeCondition(ready),
    );
  }
  const revCondition =
    condition(revision?.status?.conditions, 'Ready') ??
    condition(revision?.status?.conditions, 'ContainerHealthy');
  if (revision && revCondition && revCondition.status !== 'True' && revCondition.message) {
    // RevisionFailed already quotes the revision's message; do not say it twice.
    if (!ready?.message?.includes(revCondition.message)) {
      parts.push(
        `Revision "${revision.metadata.name}" ${revCondition.reason ?? revCondition.status}: ${revCondition.message}`,
      );
    }
  }
  const previous = svc ? previousRevisionServing(svc) : undefined;
  if (previous) parts.push(`the previous revision ${previous} still serves the traffic`);
  const detail: FailureDetail = { reason: parts.join('; ') };
  if (ready) detail.condition = ready;
  if (revision)
    detail.revision = { name: revision.metadata.name, ...(revCondition ? { condition: revCondition } : {}) };
  if (previous) detail.previousRevisionServing = previous;
  return detail;
}

function formatSeconds(seconds: number): string {
  if (seconds >= 60 && seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}
