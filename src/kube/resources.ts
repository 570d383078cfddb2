// Typed REST calls on one namespace's objects: the path of a resource type, and get/list/create/
// patch/delete that answer the parsed object or throw the error a user can act on (src/kube/errors.ts),
// each request named in RBAC terms so that a refusal says which verb on which resource was missing.
import { apiError, isUnknownResource, type RequestIntent } from './errors.js';
import type { KubeHttp, KubeResponse } from './http.js';
import { CollectionWatch, type CollectionWatchOptions, type WatchedObject } from './watch.js';

/** A resource type: `core` group is ''. */
export interface ResourceType {
  group: string;
  version: string;
  /** Plural, as in the URL and in RBAC rules: services, taskruns, configmaps. */
  plural: string;
  /** The error when the server does not know this type (its API group is not installed). */
  notInstalled?: (server: string) => Error;
}

export const CONFIG_MAPS: ResourceType = { group: '', version: 'v1', plural: 'configmaps' };
export const SECRETS: ResourceType = { group: '', version: 'v1', plural: 'secrets' };
export const CORE_SERVICES: ResourceType = { group: '', version: 'v1', plural: 'services' };

/** `/api/v1/namespaces/<ns>/<plural>[/<name>]` or `/apis/<group>/<version>/namespaces/…`. */
export function resourcePath(type: ResourceType, namespace: string, name?: string): string {
  const base = type.group === '' ? `/api/${type.version}` : `/apis/${type.group}/${type.version}`;
  return `${base}/namespaces/${encodeURIComponent(namespace)}/${type.plural}${
    name === undefined ? '' : `/${encodeURIComponent(name)}`
  }`;
}

/** The resource as RBAC names it: `services.serving.knative.dev`, `configmaps`. */
export function rbacResource(type: ResourceType): string {
  return type.group === '' ? type.plural : `${type.plural}.${type.group}`;
}

export interface Selector {
  labelSelector?: string;
  fieldSelector?: string;
}

function selectorQuery(selector: Selector): string {
  const query = new URLSearchParams();
  if (selector.labelSelector) query.set('labelSelector', selector.labelSelector);
  if (selector.fieldSelector) query.set('fieldSelector', selector.fieldSelector);
  const text = query.toString();
  return text === '' ? '' : `?${text}`;
}

const ok = (res: KubeResponse): boolean => res.status >= 200 && res.status <= 299;

export class KubeResources {
  readonly http: KubeHttp;
  readonly namespace: string;

  constructor(http: KubeHttp, namespace: string) {
    this.http = http;
    this.namespace = namespace;
  }

  /** The error for a failed answer to `verb` on `type` (and object `name`). */
  error(type: ResourceType, verb: string, res: { status: number; body: string }, name?: string): Error {
    const intent: RequestIntent = {
      verb,
      resource: rbacResource(type),
      namespace: this.namespace,
      ...(name !== undefined ? { name } : {}),
    };
    return apiError(this.http.server, intent, res, type.notInstalled);
  }

  /** The object, or undefined when there is none by that name. */
  async get<T>(type: ResourceType, name: string, signal?: AbortSignal): Promise<T | undefined> {
    const res = await this.http.request({
      method: 'GET',
      path: resourcePath(type, this.namespace, name),
      idempotent: true,
      ...(signal ? { signal } : {}),
    });
    if (res.status === 404 && !isUnknownResource(res.status, res.body)) return undefined;
    if (res.status !== 200) throw this.error(type, 'get', res, name);
    return JSON.parse(res.body) as T;
  }

  async list<T>(type: ResourceType, selector: Selector, signal?: AbortSignal): Promise<T[]> {
    const res = await this.http.request({
      method: 'GET',
      path: `${resourcePath(type, this.namespace)}${selectorQuery(selector)}`,
      idempotent: true,
      ...(signal ? { signal } : {}),
    });
    if (res.status !== 200) throw this.error(type, 'list', res);
    return (JSON.parse(res.body) as { items?: T[] }).items ?? [];
  }

  /** POST: sent once (a retry after a lost answer could meet its own object as a conflict). */
  async create<T>(type: ResourceType, object: unknown, signal?: AbortSignal): Promise<T> {
    const res = await this.http.request({
      method: 'POST',
      path: resourcePath(type, this.namespace),
      body: JSON.stringify(object),
      idempotent: false,
      ...(signal ? { signal } : {}),
    });
    if (!ok(res)) throw this.error(type, 'create', res);
    return JSON.parse(res.body) as T;
  }

  /** JSON merge patch (RFC 7386): sending it again gives the same object, so it is retried. */
  async mergePatch<T>(type: ResourceType, name: string, patch: unknown, signal?: AbortSignal): Promise<T> {
    const res = await this.http.request({
      method: 'PATCH',
      path: resourcePath(type, this.namespace, name),
      body: JSON.stringify(patch),
      contentType: 'application/merge-patch+json',
      idempotent: true,
      ...(signal ? { signal } : {}),
    });
    if (!ok(res)) throw this.error(type, 'patch', res, name);
    return JSON.parse(res.body) as T;
  }

  /**
   * Deletes an object (dependents in the background); with `uid`, only that incarnation of it.
   * Answers 'absent' when there was none and 'replaced' when the uid precondition failed.
   */
  async delete(
    type: ResourceType,
    name: string,
    options: { uid?: string } = {},
  ): Promise<'deleted' | 'absent' | 'replaced'> {
    const res = await this.http.request({
      method: 'DELETE',
      path: resourcePath(type, this.namespace, name),
      body: JSON.stringify({
        apiVersion: 'v1',
        kind: 'DeleteOptions',
        propagationPolicy: 'Background',
        ...(options.uid ? { preconditions: { uid: options.uid } } : {}),
      }),
      // Deleting twice ends the same way (the second answers 404).
      idempotent: true,
    });
    if (res.status === 404 && !isUnknownResource(res.status, res.body)) return 'absent';
    if (res.status === 409 && options.uid) return 'replaced';
    if (!ok(res)) throw this.error(type, 'delete', res, name);
    return 'deleted';
  }

  /**
   * Deletes every object of `type` that `selector` matches, in one request, and answers their names.
   * Needs RBAC verb deletecollection, never list: for Secrets that is the difference between deleting
   * one's own and reading everyone's.
   */
  async deleteCollection(type: ResourceType, selector: Selector): Promise<string[]> {
    if (!selector.labelSelector && !selector.fieldSelector) {
      throw new Error(
        `Refusing to delete every ${type.plural} of namespace "${this.namespace}" (no selector).`,
      );
    }
    const res = await this.http.request({
      method: 'DELETE',
      path: `${resourcePath(type, this.namespace)}${selectorQuery(selector)}`,
      body: JSON.stringify({ apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: 'Background' }),
      idempotent: true,
    });
    if (!ok(res)) throw this.error(type, 'deletecollection', res);
    const list = JSON.parse(res.body) as { items?: { metadata?: { name?: string } }[] };
    return (list.items ?? []).map((item) => item.metadata?.name ?? '').filter((name) => name !== '');
  }

  /** A list+watch of the objects of `type` that match `selector` (src/kube/watch.ts). */
  watch<T extends WatchedObject>(
    type: ResourceType,
    selector: Selector,
    options: Pick<CollectionWatchOptions, 'watchTimeoutSeconds' | 'startResourceVersion' | 'log'> = {},
  ): CollectionWatch<T> {
    return new CollectionWatch<T>({
      http: this.http,
      collectionPath: resourcePath(type, this.namespace),
      ...selector,
      ...options,
      toError: (verb, status, body) => this.error(type, verb, { status, body }),
    });
  }
}
