// Kubernetes API errors turned into messages a user can act on: who was refused what and where, and
// which file grants it; a cluster without an API group the action needs; credentials the server does
// not accept. One description for every request the deploy stage, the Tekton builder and the post
// step make.
import { UserError } from '../util/errors.js';

export const RBAC_DOC = 'docs/rbac.yaml';

/** A Kubernetes `Status` object, as the API server answers errors. */
export interface KubeStatus {
  kind?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    causes?: Array<{ reason?: string; message?: string; field?: string }>;
    retryAfterSeconds?: number;
  };
}

export function parseStatus(body: string): KubeStatus | undefined {
  try {
    const parsed = JSON.parse(body) as unknown;
    if (typeof parsed === 'object' && parsed !== null && (parsed as KubeStatus).kind === 'Status') {
      return parsed;
    }
  } catch {
    // not JSON: a proxy's or load balancer's error page
  }
  return undefined;
}

/** What a request was for, in RBAC terms: used to name what was refused. */
export interface RequestIntent {
  /** RBAC verb: get, list, watch, create, patch, delete. */
  verb: string;
  /** resource.group, e.g. services.serving.knative.dev; services for the core group. */
  resource: string;
  namespace?: string;
  name?: string;
}

/** A non-2xx answer of the API server. */
export class KubeApiError extends Error {
  override name = 'KubeApiError';
  readonly code: number;
  readonly status: KubeStatus | undefined;
  readonly intent: RequestIntent;

  constructor(intent: RequestIntent, code: number, body: string, message?: string) {
    const status = parseStatus(body);
    super(
      message ??
        `Kubernetes API: ${intent.verb} ${intent.resource}${intent.name ? ` "${intent.name}"` : ''}${
          intent.namespace ? ` in namespace "${intent.namespace}"` : ''
        } failed with HTTP ${code}: ${status?.message ?? (body.trim().slice(0, 300) || '(no body)')}`,
    );
    this.code = code;
    this.status = status;
    this.intent = intent;
  }
}

/** 403: names the verb, resource and namespace that were refused, and the Role that grants them. */
export class ForbiddenError extends UserError {
  override name = 'ForbiddenError';
  readonly verb: string;
  readonly resource: string;
  readonly namespace: string | undefined;

  constructor(intent: RequestIntent, body: string) {
    const status = parseStatus(body);
    // The server says it best: `User "x" cannot patch resource "services" in API group "g" in the namespace "n"`.
    const m =
      /cannot (\w+) resource "([^"]+)"(?: in API group "([^"]*)")?(?: in the namespace "([^"]+)")?/.exec(
        status?.message ?? '',
      );
    const verb = m?.[1] ?? intent.verb;
    const resource = m?.[2] ? (m[3] ? `${m[2]}.${m[3]}` : m[2]) : intent.resource;
    const namespace = m?.[4] ?? intent.namespace;
    const user = /User "([^"]+)"/.exec(status?.message ?? '')?.[1];
    super(
      `Kubernetes refused to ${verb} ${resource}${namespace ? ` in namespace "${namespace}"` : ''}` +
        `${user ? ` for ${user}` : ''} (403 Forbidden). The identity in the kubeconfig needs the Role in ` +
        `${RBAC_DOC} (apply it to namespace "${namespace ?? intent.namespace ?? '<namespace>'}" and bind it to that identity).` +
        (status?.message ? ` Server: ${status.message}` : ''),
    );
    this.verb = verb;
    this.resource = resource;
    this.namespace = namespace;
  }
}

/**
 * An API group the action needs is unknown to the server (Knative Serving, Tekton Pipelines): the
 * message says what to install. Each stage words its own (src/deploy/errors.ts, src/build/tekton-task.ts).
 */
export class ApiNotInstalledError extends UserError {
  override name = 'ApiNotInstalledError';
}

export class UnauthorizedError extends UserError {
  override name = 'UnauthorizedError';
  constructor(server: string) {
    super(
      `The Kubernetes API at ${server} did not accept the credentials (401 Unauthorized): the token or ` +
        'client certificate in the kubeconfig is invalid or has expired.',
    );
  }
}

/**
 * A 404 that means "no such resource type" rather than "no such object": the API server answers an
 * unknown group/version/resource with a Status whose details name no object (or a plain-text page).
 */
export function isUnknownResource(code: number, body: string): boolean {
  if (code !== 404) return false;
  const status = parseStatus(body);
  return !status?.details?.name;
}

/** What a failed answer means, for a request described by `intent` (RBAC terms). */
export function apiError(
  server: string,
  intent: RequestIntent,
  res: { status: number; body: string },
  notInstalled?: (server: string) => Error,
): Error {
  if (res.status === 401) return new UnauthorizedError(server);
  if (res.status === 403) return new ForbiddenError(intent, res.body);
  if (notInstalled && isUnknownResource(res.status, res.body)) return notInstalled(server);
  return new KubeApiError(intent, res.status, res.body);
}
