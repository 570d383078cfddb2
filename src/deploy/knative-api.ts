// The Kubernetes API calls of the deploy stage, each mapped to RBAC terms so that a refusal names the
// verb, resource and namespace: server-side apply of a Knative Service, reading a Revision, finding
// Services by label, deleting one (only when faas-deploy manages it), reading an ingress Service.
import { parseStatus } from '../kube/errors.js';
import type { KubeHttp, KubeResponse } from '../kube/http.js';
import { CORE_SERVICES, KubeResources, resourcePath, type ResourceType } from '../kube/resources.js';
import { KNATIVE_GROUP, KnativeNotInstalledError } from './errors.js';
import type { LiveRevision, LiveService, ManagedFieldsEntry } from './knative-status.js';
import { MANAGED_BY, MANAGED_BY_LABEL, type KnativeService } from './render-service.js';

export const FIELD_MANAGER = 'faas-deploy';

const knative = (plural: string): ResourceType => ({
  group: KNATIVE_GROUP,
  version: 'v1',
  plural,
  notInstalled: (server) => new KnativeNotInstalledError(server),
});
export const KNATIVE_SERVICES = knative('services');
export const KNATIVE_REVISIONS = knative('revisions');

/** A field another manager owns with a different value than the one we apply. */
export interface FieldConflict {
  manager: string;
  field: string;
}

/** Server-side apply refused because another *declarative* tool owns some of our fields. */
export class ApplyConflictError extends Error {
  override name = 'ApplyConflictError';
  readonly conflicts: FieldConflict[];
  constructor(service: string, conflicts: FieldConflict[], applyManagers: string[]) {
    const fields = conflicts
      .filter((c) => applyManagers.includes(c.manager))
      .map((c) => `${c.field} (${c.manager})`)
      .join(', ');
    super(
      `Service "${service}" is also managed declaratively by ${applyManagers.map((m) => `"${m}"`).join(', ')} ` +
        `(server-side apply), which owns fields faas-deploy sets with other values: ${fields}. faas-deploy does ` +
        'not take fields from another declarative tool; stop managing this Service there, or delete it so ' +
        'faas-deploy creates it afresh.',
    );
    this.conflicts = conflicts;
  }
}

export function parseConflicts(body: string): FieldConflict[] {
  const status = parseStatus(body);
  const out: FieldConflict[] = [];
  for (const cause of status?.details?.causes ?? []) {
    const m = /conflict with "([^"]+)"/.exec(cause.message ?? '');
    if (m?.[1]) out.push({ manager: m[1], field: cause.field ?? '' });
  }
  return out;
}

export interface KnativeApiOptions {
  http: KubeHttp;
  namespace: string;
  warn?: (message: string) => void;
}

export class KnativeApi {
  readonly namespace: string;
  /** The namespace's objects: Services, Revisions, and the watch the waiters share. */
  readonly resources: KubeResources;
  private readonly warn: (message: string) => void;

  constructor(options: KnativeApiOptions) {
    this.namespace = options.namespace;
    this.resources = new KubeResources(options.http, options.namespace);
    this.warn = options.warn ?? (() => undefined);
  }

  private warnings(res: KubeResponse, what: string): void {
    const warning: string | string[] | undefined = res.headers['warning'];
    const list: string[] = Array.isArray(warning) ? warning : warning ? [warning] : [];
    for (const w of list) {
      this.warn(`${what}: ${w.replace(/^\d+ \S+ /, '').replace(/^"|"$/g, '')}`);
    }
  }

  /**
   * Server-side apply with field manager faas-deploy. Conflict policy: fields another manager changed
   * imperatively (operation Update: kubectl edit/patch/set, client-side apply) are drift and are taken
   * back (force), with a warning naming that manager; fields owned by another *Apply* manager belong to
   * another declarative tool (Argo CD, Flux, kubectl apply --server-side) and the apply fails naming it,
   * because two declarative owners would undo each other on every run.
   */
  async apply(service: KnativeService, signal?: AbortSignal): Promise<LiveService> {
    const name = service.metadata.name;
    const path = `${resourcePath(KNATIVE_SERVICES, this.namespace, name)}?fieldManager=${FIELD_MANAGER}&fieldValidation=Warn`;
    const send = async (force: boolean): Promise<KubeResponse> =>
      await this.resources.http.request({
        method: 'PATCH',
        path: force ? `${path}&force=true` : path,
        body: JSON.stringify(service),
        contentType: 'application/apply-patch+yaml',
        // Apply is declarative: sending the same object again has the same outcome.
        idempotent: true,
        ...(signal ? { signal } : {}),
      });
    let res = await send(false);
    if (res.status === 409) {
      const conflicts = parseConflicts(res.body);
      const live = await this.getService(name, signal);
      const operations = new Map<string, ManagedFieldsEntry['operation']>();
      for (const entry of live?.metadata.managedFields ?? []) {
        if (entry.manager && !entry.subresource) {
          // An Apply entry of a manager wins over its Update entries: it is a declarative owner.
          if (operations.get(entry.manager) !== 'Apply') operations.set(entry.manager, entry.operation);
        }
      }
      const managers = [...new Set(conflicts.map((c) => c.manager))];
      const declarative = managers.filter((m) => operations.get(m) !== 'Update');
      if (conflicts.length === 0 || declarative.length > 0) {
        throw new ApplyConflictError(name, conflicts, declarative.length > 0 ? declarative : managers);
      }
      this.warn(
        `Service "${name}": taking back ${conflicts.map((c) => c.field).join(', ')} from ${managers
          .map((m) => `"${m}"`)
          .join(', ')} (changed outside faas-deploy; the deploy restores what the repository says)`,
      );
      res = await send(true);
    }
    if (res.status < 200 || res.status > 299) {
      // SSA creates when absent: a 403 may be for create or for patch; the server's message says which.
      throw this.resources.error(KNATIVE_SERVICES, 'patch', res, name);
    }
    this.warnings(res, `Service "${name}"`);
    return JSON.parse(res.body) as LiveService;
  }

  getService(name: string, signal?: AbortSignal): Promise<LiveService | undefined> {
    return this.resources.get<LiveService>(KNATIVE_SERVICES, name, signal);
  }

  getRevision(name: string, signal?: AbortSignal): Promise<LiveRevision | undefined> {
    return this.resources.get<LiveRevision>(KNATIVE_REVISIONS, name, signal);
  }

  listServices(labelSelector: string): Promise<LiveService[]> {
    return this.resources.list<LiveService>(KNATIVE_SERVICES, { labelSelector });
  }

  /**
   * Deletes a Service that faas-deploy manages; the uid precondition makes sure it is the object we
   * looked at (not one re-created meanwhile). Absent: nothing to do.
   */
  async deleteService(name: string, known?: LiveService): Promise<{ deleted: boolean; reason?: string }> {
    const live = known ?? (await this.getService(name));
    if (!live) return { deleted: false, reason: 'absent' };
    if (live.metadata.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY) {
      return {
        deleted: false,
        reason: `not deleted: it is not labelled ${MANAGED_BY_LABEL}=${MANAGED_BY}, so faas-deploy did not create it`,
      };
    }
    const outcome = await this.resources.delete(
      KNATIVE_SERVICES,
      name,
      live.metadata.uid ? { uid: live.metadata.uid } : {},
    );
    if (outcome === 'absent') return { deleted: false, reason: 'absent' };
    if (outcome === 'replaced')
      return { deleted: false, reason: 'replaced by a new object while deleting; left alone' };
    return { deleted: true };
  }

  /** The first LoadBalancer ingress IP or hostname of a core Service (an ingress gateway). */
  async loadBalancerAddress(namespace: string, name: string): Promise<string | undefined> {
    const gateway = new KubeResources(this.resources.http, namespace);
    const svc = await gateway.get<{
      status?: { loadBalancer?: { ingress?: Array<{ ip?: string; hostname?: string }> } };
    }>(CORE_SERVICES, name);
    if (!svc) throw new Error(`Service ${namespace}/${name} does not exist.`);
    const first = svc.status?.loadBalancer?.ingress?.find((i) => i.ip ?? i.hostname);
    return first?.ip ?? first?.hostname;
  }
}
