// The Kubernetes API calls of the deploy stage, each mapped to RBAC terms so that a refusal names the
// verb, resource and namespace: server-side apply of a Knative Service, reading a Revision, finding
// Services by label, deleting one (only when faas-deploy manages it), reading an ingress Service.
import {
  ForbiddenError,
  KNATIVE_GROUP,
  KnativeNotInstalledError,
  KubeApiError,
  UnauthorizedError,
  isUnknownResource,
  parseStatus,
  type RequestIntent,
} from './errors.js';
import type { KubeHttp, KubeResponse } from './kube-http.js';
import type { LiveRevision, LiveService, ManagedFieldsEntry } from './knative-status.js';
import { MANAGED_BY, MANAGED_BY_LABEL, type KnativeService } from './render-service.js';

export const FIELD_MANAGER = 'faas-deploy';
const SERVICES = `services.${KNATIVE_GROUP}`;
const REVISIONS = `revisions.${KNATIVE_GROUP}`;

export function knativePath(namespace: string, plural: string, name?: string): string {
  return `/apis/${KNATIVE_GROUP}/v1/namespaces/${encodeURIComponent(namespace)}/${plural}${
    name === undefined ? '' : `/${encodeURIComponent(name)}`
  }`;
}

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
  private readonly http: KubeHttp;
  private readonly warn: (message: string) => void;

  constructor(options: KnativeApiOptions) {
    this.http = options.http;
    this.namespace = options.namespace;
    this.warn = options.warn ?? (() => undefined);
  }

  /** Maps a failed answer to the error a user can act on. */
  error(intent: RequestIntent, res: { status: number; body: string }): Error {
    if (res.status === 401) return new UnauthorizedError(this.http.server);
    if (res.status === 403) return new ForbiddenError(intent, res.body);
    if (intent.resource.endsWith(`.${KNATIVE_GROUP}`) && isUnknownResource(res.status, res.body)) {
      return new KnativeNotInstalledError(this.http.server);
    }
    return new KubeApiError(intent, res.status, res.body);
  }

  private intent(verb: string, resource: string, name?: string): RequestIntent {
    return { verb, resource, namespace: this.namespace, ...(name !== undefined ? { name } : {}) };
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
    const path = `${knativePath(this.namespace, 'services', name)}?fieldManager=${FIELD_MANAGER}&fieldValidation=Warn`;
    const send = async (force: boolean): Promise<KubeResponse> =>
      await this.http.request({
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
      throw this.error(this.intent('patch', SERVICES, name), res);
    }
    this.warnings(res, `Service "${name}"`);
    return JSON.parse(res.body) as LiveService;
  }

  async getService(name: string, signal?: AbortSignal): Promise<LiveService | undefined> {
    const res = await this.http.request({
      method: 'GET',
      path: knativePath(this.namespace, 'services', name),
      idempotent: true,
      ...(signal ? { signal } : {}),
    });
    if (res.status === 404 && !isUnknownResource(res.status, res.body)) return undefined;
    if (res.status !== 200) throw this.error(this.intent('get', SERVICES, name), res);
    return JSON.parse(res.body) as LiveService;
  }

  async getRevision(name: string, signal?: AbortSignal): Promise<LiveRevision | undefined> {
    const res = await this.http.request({
      method: 'GET',
      path: knativePath(this.namespace, 'revisions', name),
      idempotent: true,
      ...(signal ? { signal } : {}),
    });
    if (res.status === 404 && !isUnknownResource(res.status, res.body)) return undefined;
    if (res.status !== 200) throw this.error(this.intent('get', REVISIONS, name), res);
    return JSON.parse(res.body) as LiveRevision;
  }

  async listServices(labelSelector: string): Promise<LiveService[]> {
    const res = await this.http.request({
      method: 'GET',
      path: `${knativePath(this.namespace, 'services')}?labelSelector=${encodeURIComponent(labelSelector)}`,
      idempotent: true,
    });
    if (res.status !== 200) throw this.error(this.intent('list', SERVICES), res);
    return (JSON.parse(res.body) as { items?: LiveService[] }).items ?? [];
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
    const res = await this.http.request({
      method: 'DELETE',
      path: knativePath(this.namespace, 'services', name),
      body: JSON.stringify({
        apiVersion: 'v1',
        kind: 'DeleteOptions',
        propagationPolicy: 'Background',
        ...(live.metadata.uid ? { preconditions: { uid: live.metadata.uid } } : {}),
      }),
      // Deleting twice ends the same way (the second answers 404).
      idempotent: true,
    });
    if (res.status === 404 && !isUnknownResource(res.status, res.body))
      return { deleted: false, reason: 'absent' };
    if (res.status === 409)
      return { deleted: false, reason: 'replaced by a new object while deleting; left alone' };
    if (res.status < 200 || res.status > 299) throw this.error(this.intent('delete', SERVICES, name), res);
    return { deleted: true };
  }

  /** The first LoadBalancer ingress IP or hostname of a core Service (an ingress gateway). */
  async loadBalancerAddress(namespace: string, name: string): Promise<string | undefined> {
    const res = await this.http.request({
      method: 'GET',
      path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/services/${encodeURIComponent(name)}`,
      idempotent: true,
    });
    if (res.status !== 200) throw this.error({ verb: 'get', resource: 'services', namespace, name }, res);
    const svc = JSON.parse(res.body) as {
      status?: { loadBalancer?: { ingress?: Array<{ ip?: string; hostname?: string }> } };
    };
    const first = svc.status?.loadBalancer?.ingress?.find((i) => i.ip ?? i.hostname);
    return first?.ip ?? first?.hostname;
  }
}
