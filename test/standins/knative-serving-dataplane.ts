// Knative Serving STAND-IN, data plane — the pure part: which revisions must run as containers, how a
// container is started (environment, docker arguments), and where the ingress sends a request (Host
// header → the Service's traffic targets or a tag's revision). No I/O here; knative-serving-runner.ts
// runs the containers, knative-ingress.ts proxies, knative-serving-standin.ts wires them to the API.
//
// What Knative does, and what this does instead (the real data plane is a Deployment per revision,
// the queue-proxy, the activator and the kourier gateway):
// - a revision's pods run while it is routable (status.traffic of its Service names it, with a percent
//   or a tag): here one container per such revision;
// - each pod has its own network namespace, the user container listens on its containerPort (8080,
//   injected as $PORT). The test environment's Docker engine has no bridge network, so containers run
//   with --network host, each on its own free 127.0.0.1 port: `port` (the watchdogs' listen port) and
//   PORT are set to it, and an `upstream_url` on 127.0.0.1 (of-watchdog's http mode, 127.0.0.1:8082 in
//   the templates) is moved to a second free port;
// - kourier routes by Host to the route's hosts: status.url's host splits by percent over
//   status.traffic, each tag URL's host goes to its tag's revision.
import type { Condition, TrafficTarget } from './knative-serving-logic.ts';

export const STANDIN_LABEL = 'faas-deploy.standin';
export const STANDIN_LABEL_VALUE = 'knative-serving';
export const STATE_LABEL = 'faas-deploy.standin.state';
const L_SERVICE = 'serving.knative.dev/service';
const L_SERVICE_UID = 'serving.knative.dev/serviceUID';
const L_CONFIGURATION = 'serving.knative.dev/configuration';

// ---- the objects, as far as the data plane reads them ------------------------------------------

export interface EnvVarSpec {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name?: string; key: string; optional?: boolean };
    configMapKeyRef?: { name?: string; key: string; optional?: boolean };
  };
}

export interface EnvFromSpec {
  prefix?: string;
  secretRef?: { name?: string; optional?: boolean };
  configMapRef?: { name?: string; optional?: boolean };
}

export interface ContainerSpec {
  name?: string;
  image?: string;
  command?: string[];
  args?: string[];
  workingDir?: string;
  env?: EnvVarSpec[];
  envFrom?: EnvFromSpec[];
  ports?: Array<{ containerPort?: number; name?: string }>;
  readinessProbe?: { httpGet?: { path?: string }; tcpSocket?: unknown };
  securityContext?: { runAsUser?: number };
}

export interface RevisionPodSpec {
  containers?: ContainerSpec[];
  imagePullSecrets?: Array<{ name?: string }>;
  serviceAccountName?: string;
  timeoutSeconds?: number;
}

export interface ServiceView {
  metadata: { name: string; namespace?: string; uid?: string; deletionTimestamp?: string };
  status?: { url?: string; traffic?: TrafficTarget[] };
}

export interface RevisionView {
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    labels?: Record<string, string>;
    deletionTimestamp?: string;
  };
  spec?: RevisionPodSpec;
  status?: {
    conditions?: Condition[];
    containerStatuses?: Array<{ name: string; imageDigest: string }>;
  };
}

const nsOf = (o: { metadata: { namespace?: string } }): string => o.metadata.namespace ?? 'default';

/** `<namespace>/<name>`: how the ingress and the runner find a revision. */
export const revisionId = (namespace: string, name: string): string => `${namespace}/${name}`;

// ---- which revisions run --------------------------------------------------------------------------

/** A traffic target that receives requests: a share of the Service's URL, or its own tag URL. */
function receivesTraffic(t: TrafficTarget): boolean {
  return Boolean(t.revisionName) && ((t.percent ?? 0) > 0 || Boolean(t.tag));
}

function live(svc: ServiceView): boolean {
  return !svc.metadata.deletionTimestamp;
}

/** A revision a Service's status.traffic sends requests to, with the Service that names it. */
export interface TrafficRef {
  namespace: string;
  name: string;
  service: string;
  serviceUid?: string;
}

/** The revisions the Services' status.traffic sends requests to (each once). */
export function trafficRevisions(services: ServiceView[]): TrafficRef[] {
  const out = new Map<string, TrafficRef>();
  for (const svc of services) {
    if (!live(svc)) continue;
    for (const t of svc.status?.traffic ?? []) {
      if (!receivesTraffic(t) || !t.revisionName) continue;
      const ref: TrafficRef = { namespace: nsOf(svc), name: t.revisionName, service: svc.metadata.name };
      if (svc.metadata.uid) ref.serviceUid = svc.metadata.uid;
      out.set(revisionId(nsOf(svc), t.revisionName), ref);
    }
  }
  return [...out.values()];
}

/** Whether a Revision belongs to the Service that routes to it (not to an earlier one of the same name). */
export function ownedBy(rev: RevisionView, ref: { service: string; serviceUid?: string }): boolean {
  const labels = rev.metadata.labels ?? {};
  if (labels[L_SERVICE] !== ref.service) return false;
  return !ref.serviceUid || !labels[L_SERVICE_UID] || labels[L_SERVICE_UID] === ref.serviceUid;
}

/** One revision that must run, with what starting it needs. */
export interface DesiredRevision {
  /** the Revision's uid: a Service deleted and created again under the same name makes new ones */
  key: string;
  namespace: string;
  name: string;
  service: string;
  configuration: string;
  container: ContainerSpec;
  /** the image by digest as the revision resolved it (containerStatuses), else the spec's */
  image: string;
  podSpec: RevisionPodSpec;
}

function isReady(rev: RevisionView): boolean {
  return rev.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
}

/** The container that serves: the one with a port (Knative allows one), else the first. */
export function servingContainer(spec: RevisionPodSpec | undefined): ContainerSpec | undefined {
  const containers = spec?.containers ?? [];
  return containers.find((c) => (c.ports?.length ?? 0) > 0) ?? containers[0];
}

function resolvedImage(rev: RevisionView, container: ContainerSpec): string {
  const containers = rev.spec?.containers ?? [];
  const index = containers.indexOf(container);
  const statuses = rev.status?.containerStatuses ?? [];
  const byName = statuses.find((s) => s.name === (container.name ?? 'user-container'));
  const digest = byName?.imageDigest ?? statuses[index]?.imageDigest;
  return digest?.includes('@') ? digest : (container.image ?? '');
}

/**
 * Every Ready revision that a live Service's status.traffic routes to (a percent or a tag), owned by
 * that Service (its labels name the Service, and its uid when they carry one). A newer revision that
 * takes all traffic drops the older one from this list; a deleted Service drops all of its.
 */
export function desiredRevisions(services: ServiceView[], revisions: RevisionView[]): DesiredRevision[] {
  const byId = new Map<string, RevisionView>();
  for (const r of revisions)
    if (!r.metadata.deletionTimestamp) byId.set(revisionId(nsOf(r), r.metadata.name), r);
  const out = new Map<string, DesiredRevision>();
  for (const svc of services) {
    if (!live(svc)) continue;
    const ns = nsOf(svc);
    for (const t of svc.status?.traffic ?? []) {
      if (!receivesTraffic(t) || !t.revisionName) continue;
      const rev = byId.get(revisionId(ns, t.revisionName));
      if (!rev || !isReady(rev)) continue;
      if (
        !ownedBy(rev, {
          service: svc.metadata.name,
          ...(svc.metadata.uid ? { serviceUid: svc.metadata.uid } : {}),
        })
      )
        continue;
      const labels = rev.metadata.labels ?? {};
      const container = servingContainer(rev.spec);
      if (!container) continue;
      const key = rev.metadata.uid ?? revisionId(ns, rev.metadata.name);
      out.set(key, {
        key,
        namespace: ns,
        name: rev.metadata.name,
        service: svc.metadata.name,
        configuration: labels[L_CONFIGURATION] ?? svc.metadata.name,
        container,
        image: resolvedImage(rev, container),
        podSpec: rev.spec ?? {},
      });
    }
  }
  return [...out.values()];
}

/** What to start (desired, not running) and what to stop (running, no longer desired). */
export function containerChanges<D extends { key: string }>(
  desired: D[],
  running: Iterable<string>,
): { start: D[]; stop: string[] } {
  const want = new Set(desired.map((d) => d.key));
  const have = new Set(running);
  return {
    start: desired.filter((d) => !have.has(d.key)),
    stop: [...have].filter((k) => !want.has(k)),
  };
}

// ---- the container ------------------------------------------------------------------------------

/** Secrets and ConfigMaps of the revision's namespace, as `data` maps (undefined: does not exist). */
export interface EnvSources {
  secret(name: string): Record<string, string> | undefined;
  configMap(name: string): Record<string, string> | undefined;
}

/**
 * The container's env from its spec as the kubelet builds it: envFrom first (prefix applied), then env
 * (later wins). A missing required Secret/ConfigMap or key fails the container
 * (CreateContainerConfigError); optional ones are skipped.
 */
export function specEnv(
  container: ContainerSpec,
  sources: EnvSources,
): { ok: true; env: Array<[string, string]> } | { ok: false; error: string } {
  const env = new Map<string, string>();
  for (const from of container.envFrom ?? []) {
    const ref = from.secretRef ?? from.configMapRef;
    const kind = from.secretRef ? 'secret' : 'configmap';
    if (!ref) continue;
    const data = from.secretRef ? sources.secret(ref.name ?? '') : sources.configMap(ref.name ?? '');
    if (!data) {
      if (ref.optional) continue;
      return { ok: false, error: `${kind} "${ref.name ?? ''}" not found` };
    }
    for (const [k, v] of Object.entries(data)) env.set(`${from.prefix ?? ''}${k}`, v);
  }
  for (const e of container.env ?? []) {
    const ref = e.valueFrom?.secretKeyRef ?? e.valueFrom?.configMapKeyRef;
    if (!ref) {
      env.set(e.name, e.value ?? '');
      continue;
    }
    const secret = Boolean(e.valueFrom?.secretKeyRef);
    const data = secret ? sources.secret(ref.name ?? '') : sources.configMap(ref.name ?? '');
    const value = data?.[ref.key];
    if (value === undefined) {
      if (ref.optional) continue;
      return {
        ok: false,
        error: data
          ? `couldn't find key ${ref.key} in ${secret ? 'Secret' : 'ConfigMap'} ${ref.name ?? ''}`
          : `${secret ? 'secret' : 'configmap'} "${ref.name ?? ''}" not found`,
      };
    }
    env.set(e.name, value);
  }
  return { ok: true, env: [...env] };
}

/** `KEY=VALUE` lines of an image's Config.Env as a map. */
export function imageEnvMap(lines: string[] | null | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of lines ?? []) {
    const eq = line.indexOf('=');
    if (eq > 0) out.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return out;
}

/** The part of `docker image inspect`'s .Config the stand-in reads. */
export interface ImageConfig {
  Env?: string[] | null;
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
}

/** Whether docker has something to run: the container's command/args, or the image's ENTRYPOINT/CMD. */
export function hasCommand(config: ImageConfig | null | undefined, c: ContainerSpec): boolean {
  return [c.command, c.args, config?.Entrypoint, config?.Cmd].some((list) => (list?.length ?? 0) > 0);
}

/** An http(s) URL on this host (127.0.0.0/8, localhost): with host networking it needs its own port. */
export function isLoopbackUrl(value: string | undefined): boolean {
  if (!value) return false;
  try {
    const u = new URL(value);
    return (
      (u.protocol === 'http:' || u.protocol === 'https:') &&
      (u.hostname === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(u.hostname))
    );
  } catch {
    return false;
  }
}

/** The same URL with another port (http://127.0.0.1:8082 → http://127.0.0.1:<port>). */
export function withPort(value: string, port: number): string {
  const u = new URL(value);
  u.port = String(port);
  // URL keeps a lone "/" path; the watchdogs take the value as a base URL, so keep the original form.
  return value.endsWith('/') || u.pathname !== '/' ? u.toString() : u.toString().replace(/\/$/, '');
}

/** The upstream_url the watchdog would use (spec env over image env), when it must move. */
export function upstreamToMove(
  spec: Array<[string, string]>,
  image: Map<string, string>,
): string | undefined {
  const fromSpec = spec.find(([k]) => k === 'upstream_url')?.[1];
  const value = fromSpec ?? image.get('upstream_url');
  return isLoopbackUrl(value) ? value : undefined;
}

export interface ContainerEnvInput {
  spec: Array<[string, string]>;
  /** the upstream_url to rewrite (upstreamToMove), and the port it moves to */
  upstream?: { url: string; port: number };
  port: number;
  service: string;
  configuration: string;
  revision: string;
}

/**
 * The -e list: the spec's env, then what Knative injects (K_SERVICE, K_CONFIGURATION, K_REVISION, PORT)
 * and what host networking needs (`port`, a moved `upstream_url`). Later entries win in docker.
 */
export function containerEnv(input: ContainerEnvInput): Array<[string, string]> {
  const env = new Map<string, string>(input.spec);
  env.set('K_SERVICE', input.service);
  env.set('K_CONFIGURATION', input.configuration);
  env.set('K_REVISION', input.revision);
  env.set('PORT', String(input.port));
  env.set('port', String(input.port));
  if (input.upstream) env.set('upstream_url', withPort(input.upstream.url, input.upstream.port));
  return [...env];
}

/** A docker container name for a revision: unique per revision uid, only [a-zA-Z0-9_.-]. */
export function containerName(namespace: string, revision: string, key: string): string {
  const clean = (s: string): string => s.replace(/[^a-zA-Z0-9_.-]/g, '-');
  return `knative-${clean(namespace)}-${clean(revision)}-${clean(key).slice(0, 8)}`;
}

export interface RunPlan {
  name: string;
  image: string;
  env: Array<[string, string]>;
  labels: Record<string, string>;
  container: ContainerSpec;
}

/** The labels every container of the stand-in carries (`docker ps --filter label=…` finds them). */
export function containerLabels(d: DesiredRevision, state: string): Record<string, string> {
  return {
    [STANDIN_LABEL]: STANDIN_LABEL_VALUE,
    [STATE_LABEL]: state,
    'serving.knative.dev/namespace': d.namespace,
    'serving.knative.dev/service': d.service,
    'serving.knative.dev/revision': d.name,
    'serving.knative.dev/revisionUID': d.key,
  };
}

/** `docker run` arguments: detached, host network, command/args as the kubelet maps them. */
export function dockerRunArgs(plan: RunPlan): string[] {
  const args = ['run', '-d', '--name', plan.name, '--network', 'host', '--pull', 'never'];
  for (const [k, v] of Object.entries(plan.labels)) args.push('--label', `${k}=${v}`);
  const c = plan.container;
  if (c.workingDir) args.push('--workdir', c.workingDir);
  if (c.securityContext?.runAsUser !== undefined) args.push('--user', String(c.securityContext.runAsUser));
  for (const [k, v] of plan.env) args.push('--env', `${k}=${v}`);
  // command replaces the image's ENTRYPOINT (and drops its CMD); args replace CMD.
  const [entrypoint, ...rest] = c.command ?? [];
  if (entrypoint !== undefined) args.push('--entrypoint', entrypoint);
  args.push(plan.image, ...rest, ...(c.args ?? []));
  return args;
}

/** How the stand-in decides that the container answers: the readinessProbe's httpGet path, else TCP. */
export function readinessCheck(c: ContainerSpec): { kind: 'http'; path: string } | { kind: 'tcp' } {
  const path = c.readinessProbe?.httpGet ? (c.readinessProbe.httpGet.path ?? '/') : undefined;
  if (path === undefined) return { kind: 'tcp' };
  return { kind: 'http', path: path.startsWith('/') ? path : `/${path}` };
}

// ---- the ingress --------------------------------------------------------------------------------

export interface RouteTarget {
  namespace: string;
  revision: string;
  percent: number;
}

export interface Route {
  /** `<namespace>/<service>` */
  service: string;
  targets: RouteTarget[];
}

/** `Host:` without its port, lower case ("Foo.example.com:8080" → "foo.example.com"). */
export function hostOf(header: string | undefined): string {
  let h = (header ?? '').trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  const colon = h.lastIndexOf(':');
  if (colon >= 0) h = h.slice(0, colon);
  return h.endsWith('.') ? h.slice(0, -1) : h;
}

function urlHost(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return new URL(url).hostname.toLowerCase();
  } catch {
    return undefined;
  }
}

/**
 * The hosts the ingress serves: each live Service's status.url host → its status.traffic targets with
 * a percent; each tag URL host → that tag's revision. Services without status.traffic (never Ready)
 * have no route.
 */
export function routeTable(services: ServiceView[]): Map<string, Route> {
  const routes = new Map<string, Route>();
  for (const svc of services) {
    if (!live(svc)) continue;
    const traffic = svc.status?.traffic;
    if (!traffic?.length) continue;
    const ns = nsOf(svc);
    const service = `${ns}/${svc.metadata.name}`;
    const host = urlHost(svc.status?.url);
    if (host) {
      routes.set(host, {
        service,
        targets: traffic
          .filter((t) => t.revisionName && (t.percent ?? 0) > 0)
          .map((t) => ({ namespace: ns, revision: t.revisionName ?? '', percent: t.percent ?? 0 })),
      });
    }
    for (const t of traffic) {
      const tagHost = t.tag ? urlHost(t.url) : undefined;
      if (!tagHost || !t.revisionName) continue;
      routes.set(tagHost, { service, targets: [{ namespace: ns, revision: t.revisionName, percent: 100 }] });
    }
  }
  return routes;
}

/** Picks a target by percent; `random` in [0, 1). */
export function pickTarget(targets: RouteTarget[], random: number): RouteTarget | undefined {
  const total = targets.reduce((sum, t) => sum + Math.max(0, t.percent), 0);
  if (total <= 0) return targets[0];
  let point = random * total;
  for (const t of targets) {
    point -= Math.max(0, t.percent);
    if (point < 0) return t;
  }
  return targets[targets.length - 1];
}

export type IngressDecision =
  | { kind: 'unknown-host'; host: string }
  | { kind: 'no-target'; host: string; service: string }
  | { kind: 'revision'; host: string; service: string; namespace: string; revision: string };

/** Where a request with this Host header goes. */
export function routeRequest(
  routes: Map<string, Route>,
  hostHeader: string | undefined,
  random: number,
): IngressDecision {
  const host = hostOf(hostHeader);
  const route = routes.get(host);
  if (!route) return { kind: 'unknown-host', host };
  const target = pickTarget(route.targets, random);
  if (!target) return { kind: 'no-target', host, service: route.service };
  return {
    kind: 'revision',
    host,
    service: route.service,
    namespace: target.namespace,
    revision: target.revision,
  };
}
