// Knative Serving controller STAND-IN for the test environment (scripts/test-env/kube.sh starts it).
// This is not Knative: there is no kubelet, no networking layer and no webhook. It watches Knative
// Services on the real kube-apiserver and writes the objects and statuses the real controllers write
// (Configuration, Route, Revision named `<name>-0000N`, digest resolution against the registry named
// in the image, Service status through /status), so that a client's apply → wait-for-Ready logic meets
// the real shapes. The status decisions live in knative-serving-logic.ts (pure, unit-tested).
//
// It also serves, in a simplified way: every Ready revision that its Service's status.traffic routes to
// runs as a container in the test environment's Docker engine (host networking, a free 127.0.0.1 port;
// knative-serving-runner.ts), and a small ingress on 127.0.0.1 routes by Host header to them as
// Knative's gateway does (knative-ingress.ts; decisions in knative-serving-dataplane.ts). Ready is NOT
// gated on the container: a revision is Ready once its image resolves, as before; a container that
// fails to start or exits is only logged, and the ingress answers 503 for it. The container of a
// revision is removed when it no longer receives traffic (a newer revision took it all, or the Service
// is gone), and all of them on SIGTERM.
//
//   node test/standins/knative-serving-standin.ts --kubeconfig <admin kubeconfig>
//        [--ingress-port <port, 0 = any> [--ingress-port-fallback]]
//        [--ingress-address-file <file to write 127.0.0.1:<port> to>]
// --ingress-port-fallback: the port is a preference (the one of the previous run, so that a restart
// keeps INGRESS_ADDRESS); when it is taken, any free port.
import fs from 'node:fs';
import { dirname } from 'node:path';
import {
  beginReconcileStatus,
  getCondition,
  needsReconcile,
  revisionInfoFromStatus,
  revisionNameFor,
  revisionResolvedStatus,
  revisionResolvingStatus,
  serviceStatus,
  type DigestAnswer,
  type KService,
  type RevisionInfo,
  type RevisionStatus,
  type ServiceStatus,
} from './knative-serving-logic.ts';
import {
  containerChanges,
  desiredRevisions,
  ownedBy,
  revisionId,
  routeTable,
  trafficRevisions,
  type DesiredRevision,
  type EnvSources,
  type RevisionPodSpec,
  type RevisionView,
  type ServiceView,
} from './knative-serving-dataplane.ts';
import { startIngress, type Ingress } from './knative-ingress.ts';
import { ContainerRunner } from './knative-serving-runner.ts';
import {
  credentialsFromDockerConfig,
  parseImageRef,
  resolveDigest,
  type RegistryCredentials,
} from './registry-resolve.ts';
import {
  KeyedQueue,
  KubeApiError,
  KubeRest,
  errorText,
  listAndWatch,
  resourcePath,
  type KubeObject,
} from './kube-client.ts';

const GROUP = 'serving.knative.dev';
const VERSION = 'v1';
const API_VERSION = `${GROUP}/${VERSION}`;
const FIELD_MANAGER = 'knative-serving-standin';
const L_SERVICE = 'serving.knative.dev/service';
const L_SERVICE_UID = 'serving.knative.dev/serviceUID';
const L_CONFIGURATION = 'serving.knative.dev/configuration';
const L_CONFIGURATION_GEN = 'serving.knative.dev/configurationGeneration';
const L_CONFIGURATION_UID = 'serving.knative.dev/configurationUID';

type ServiceObject = KService & KubeObject & { status?: ServiceStatus };
type RevisionObject = KubeObject & { status?: RevisionStatus; spec?: Record<string, unknown> };

function log(msg: string): void {
  process.stdout.write(`${new Date().toISOString()} knative-serving-standin: ${msg}\n`);
}

function now(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

const path = (ns: string, plural: string, name?: string): string =>
  resourcePath(GROUP, VERSION, ns, plural, name);

/** Writes .status through the /status subresource, re-reading on conflicts. */
async function writeStatus<T extends KubeObject>(
  rest: KubeRest,
  objPath: string,
  make: (fresh: T) => unknown,
): Promise<T | undefined> {
  for (let attempt = 0; attempt < 8; attempt++) {
    const fresh = await rest.get<T>(objPath);
    if (!fresh) return undefined;
    const status = make(fresh);
    if (status === undefined) return fresh;
    const res = await rest.request('PUT', `${objPath}/status`, { ...fresh, status });
    if (res.status === 409) continue;
    if (res.status === 404) return undefined;
    if (res.status < 200 || res.status > 299)
      throw new KubeApiError('PUT', `${objPath}/status`, res.status, res.text);
    return JSON.parse(res.text) as T;
  }
  throw new Error(`${objPath}/status: still conflicting after 8 attempts`);
}

/** Credentials for a registry from the pod spec's imagePullSecrets, then its ServiceAccount's. */
async function pullCredentials(
  rest: KubeRest,
  ns: string,
  podSpec: { imagePullSecrets?: Array<{ name?: string }>; serviceAccountName?: string },
  registry: string,
): Promise<RegistryCredentials | undefined> {
  const names = (podSpec.imagePullSecrets ?? []).map((s) => s.name ?? '').filter(Boolean);
  const sa = await rest.get<{ imagePullSecrets?: Array<{ name?: string }> }>(
    resourcePath('', 'v1', ns, 'serviceaccounts', podSpec.serviceAccountName ?? 'default'),
  );
  for (const s of sa?.imagePullSecrets ?? []) if (s.name) names.push(s.name);
  for (const name of names) {
    const secret = await rest.get<{ data?: Record<string, string> }>(
      resourcePath('', 'v1', ns, 'secrets', name),
    );
    const raw = secret?.data?.['.dockerconfigjson'];
    if (!raw) continue;
    const creds = credentialsFromDockerConfig(Buffer.from(raw, 'base64').toString('utf8'), registry);
    if (creds) return creds;
  }
  return undefined;
}

function ownerRef(apiVersion: string, kind: string, name: string, uid: string): Record<string, unknown> {
  return { apiVersion, kind, name, uid, controller: true, blockOwnerDeletion: true };
}

async function deleteChildren(
  rest: KubeRest,
  ns: string,
  name: string,
  serviceUid: string | undefined,
): Promise<void> {
  // No kube-controller-manager runs, so there is no garbage collector: delete what we created.
  const selector = encodeURIComponent(`${L_SERVICE}=${name}`);
  const revs = await rest.call<{ items: KubeObject[] }>(
    'GET',
    `${path(ns, 'revisions')}?labelSelector=${selector}`,
  );
  for (const r of revs.items) {
    if (serviceUid && r.metadata.labels?.[L_SERVICE_UID] && r.metadata.labels[L_SERVICE_UID] !== serviceUid)
      continue;
    await rest.delete(path(ns, 'revisions', r.metadata.name));
  }
  for (const plural of ['configurations', 'routes']) {
    const obj = await rest.get(path(ns, plural, name));
    if (!obj) continue;
    if (
      serviceUid &&
      obj.metadata.labels?.[L_SERVICE_UID] &&
      obj.metadata.labels[L_SERVICE_UID] !== serviceUid
    )
      continue;
    await rest.delete(path(ns, plural, name));
  }
}

async function reconcile(rest: KubeRest, ns: string, name: string): Promise<void> {
  const svcPath = path(ns, 'services', name);
  let svc = await rest.get<ServiceObject>(svcPath);
  if (!svc || svc.metadata.deletionTimestamp) return;
  const generation = svc.metadata.generation ?? 0;
  if (!needsReconcile(svc)) return;
  const uid = svc.metadata.uid ?? '';
  log(`${ns}/${name}: reconciling generation ${generation}`);

  // 1. Start of a reconcile of a new generation: Ready Unknown/NewObservedGenFailure (not for a
  // label-only change, which keeps its generation).
  const begun = await writeStatus<ServiceObject>(rest, svcPath, (fresh) =>
    fresh.metadata.generation !== generation || fresh.status?.observedGeneration === generation
      ? undefined
      : beginReconcileStatus(fresh, now()),
  );
  // Deleted, or a newer generation arrived meanwhile: its own event is queued behind this one.
  if (begun?.metadata.generation !== generation) return;
  svc = begun;

  // Children left over from an earlier Service of the same name (we were down when it was deleted).
  const oldConfig = await rest.get(path(ns, 'configurations', name));
  if (oldConfig && oldConfig.metadata.labels?.[L_SERVICE_UID] !== uid)
    await deleteChildren(rest, ns, name, undefined);

  // 2. Configuration and Route, as the service reconciler creates them. The API server bumps the
  // Configuration's generation only when the template changes: that is the configuration generation.
  const template = svc.spec?.template ?? {};
  const config = await rest.apply(
    path(ns, 'configurations', name),
    {
      apiVersion: API_VERSION,
      kind: 'Configuration',
      metadata: {
        name,
        namespace: ns,
        labels: { [L_SERVICE]: name, [L_SERVICE_UID]: uid },
        ownerReferences: [ownerRef(API_VERSION, 'Service', name, uid)],
      },
      spec: { template },
    },
    FIELD_MANAGER,
  );
  const configGeneration = config.metadata.generation ?? 1;
  const specTraffic = svc.spec?.traffic?.length ? svc.spec.traffic : [{ latestRevision: true, percent: 100 }];
  const route = await rest.apply(
    path(ns, 'routes', name),
    {
      apiVersion: API_VERSION,
      kind: 'Route',
      metadata: {
        name,
        namespace: ns,
        labels: { [L_SERVICE]: name, [L_SERVICE_UID]: uid },
        ownerReferences: [ownerRef(API_VERSION, 'Service', name, uid)],
      },
      spec: {
        traffic: specTraffic.map((t) =>
          t.latestRevision === true || (!t.revisionName && t.latestRevision === undefined)
            ? { ...t, configurationName: name, latestRevision: true }
            : { ...t, latestRevision: false },
        ),
      },
    },
    FIELD_MANAGER,
  );

  // 3. The Revision of this configuration generation.
  const revName = revisionNameFor(svc, configGeneration);
  const revPath = path(ns, 'revisions', revName);
  let revision = await rest.get<RevisionObject>(revPath);
  if (!revision) {
    log(`${ns}/${revName}: creating revision of configuration generation ${configGeneration}`);
    const tmeta = template.metadata ?? {};
    revision = await rest.call<RevisionObject>('POST', path(ns, 'revisions'), {
      apiVersion: API_VERSION,
      kind: 'Revision',
      metadata: {
        name: revName,
        namespace: ns,
        labels: {
          ...(tmeta.labels ?? {}),
          [L_SERVICE]: name,
          [L_SERVICE_UID]: uid,
          [L_CONFIGURATION]: name,
          [L_CONFIGURATION_GEN]: String(configGeneration),
          [L_CONFIGURATION_UID]: config.metadata.uid ?? '',
          'serving.knative.dev/routingState': 'active',
        },
        annotations: { ...(tmeta.annotations ?? {}), 'serving.knative.dev/routes': name },
        ownerReferences: [ownerRef(API_VERSION, 'Configuration', name, config.metadata.uid ?? '')],
      },
      spec: template.spec ?? {},
    });
    revision =
      (await writeStatus<RevisionObject>(rest, revPath, () => revisionResolvingStatus(now()))) ?? revision;
  }
  // A Revision whose digests were never resolved (new, or an earlier attempt died half-way).
  if (
    getCondition(revision.status?.conditions, 'Ready')?.status !== 'True' &&
    getCondition(revision.status?.conditions, 'Ready')?.status !== 'False'
  ) {
    const pending = revisionInfoFromStatus(revName, configGeneration, revision.status);
    const revisions = await listRevisions(rest, ns, name);
    await writeStatus<ServiceObject>(rest, svcPath, (fresh) =>
      fresh.metadata.generation === generation
        ? serviceStatus({
            service: fresh,
            latestCreated: pending,
            revisions: merge(revisions, pending),
            now: now(),
          })
        : undefined,
    );

    // 4. Digest resolution (10 s timeout per image, like the revision reconciler).
    const containers = (template.spec?.containers ?? []) as Array<{ name?: string; image?: string }>;
    const answers: DigestAnswer[] = [];
    for (const c of containers) {
      const image = c.image ?? '';
      const creds = await pullCredentials(
        rest,
        ns,
        (template.spec ?? {}) as RevisionPodSpec,
        parseImageRef(image).registry,
      );
      const answer = await resolveDigest(image, creds);
      log(`${ns}/${revName}: ${image} -> ${answer.ok ? answer.digest : answer.error}`);
      answers.push(answer);
    }
    revision =
      (await writeStatus<RevisionObject>(rest, revPath, (fresh) =>
        revisionResolvedStatus(containers, answers, fresh.status, now()),
      )) ?? revision;
  }

  // 5. Service status from the revisions as they are now.
  const latestCreated = revisionInfoFromStatus(revName, configGeneration, revision.status);
  const revisions = merge(await listRevisions(rest, ns, name), latestCreated);
  const written = await writeStatus<ServiceObject>(rest, svcPath, (fresh) =>
    fresh.metadata.generation === generation
      ? serviceStatus({ service: fresh, latestCreated, revisions, now: now() })
      : undefined,
  );
  if (written?.metadata.generation !== generation) {
    log(`${ns}/${name}: generation ${generation} superseded before its status was written`);
    return;
  }
  const st = written.status;
  const ready = st?.conditions?.find((c) => c.type === 'Ready');
  log(
    `${ns}/${name}: generation ${generation} -> Ready ${ready?.status} ${ready?.reason ?? ''} ${st?.url ?? ''}`,
  );

  // Configuration and Route status, for clients that look at them.
  if (st) {
    await writeStatus<KubeObject>(rest, path(ns, 'configurations', name), (fresh) => ({
      observedGeneration: fresh.metadata.generation,
      latestCreatedRevisionName: st.latestCreatedRevisionName,
      ...(st.latestReadyRevisionName ? { latestReadyRevisionName: st.latestReadyRevisionName } : {}),
      conditions: (st.conditions ?? [])
        .filter((c) => c.type === 'ConfigurationsReady')
        .map((c) => ({ ...c, type: 'Ready' })),
    }));
    await writeStatus<KubeObject>(rest, path(ns, 'routes', route.metadata.name), (fresh) => ({
      observedGeneration: fresh.metadata.generation,
      url: st.url,
      ...(st.address ? { address: st.address } : {}),
      ...(st.traffic ? { traffic: st.traffic } : {}),
      conditions: (st.conditions ?? [])
        .filter((c) => c.type === 'RoutesReady')
        .flatMap((c) => [
          { ...c, type: 'AllTrafficAssigned' },
          { ...c, type: 'Ready' },
        ]),
    }));
  }
}

function merge(revisions: RevisionInfo[], one: RevisionInfo): RevisionInfo[] {
  return [...revisions.filter((r) => r.name !== one.name), one];
}

async function listRevisions(rest: KubeRest, ns: string, service: string): Promise<RevisionInfo[]> {
  const selector = encodeURIComponent(`${L_SERVICE}=${service}`);
  const list = await rest.call<{ items: RevisionObject[] }>(
    'GET',
    `${path(ns, 'revisions')}?labelSelector=${selector}`,
  );
  return list.items.map((r) =>
    revisionInfoFromStatus(r.metadata.name, Number(r.metadata.labels?.[L_CONFIGURATION_GEN] ?? 0), r.status),
  );
}

// ---- the data plane: containers for routed revisions, and the ingress ---------------------------

const STATE = process.env['FAAS_TEST_STATE'] ?? '/tmp/faas-deploy-test-env';

function isReadyRevision(r: RevisionView): boolean {
  return r.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
}

/** Keeps the runner's containers equal to desiredRevisions() of the Services as the watch sees them. */
class DataPlane {
  readonly services = new Map<string, ServiceView>();
  /** Ready Revisions that status.traffic names (they do not change once Ready), by namespace/name. */
  private readonly revisions = new Map<string, RevisionView>();
  private readonly rest: KubeRest;
  readonly runner: ContainerRunner;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private again = false;

  constructor(rest: KubeRest) {
    this.rest = rest;
    this.runner = new ContainerRunner({
      state: STATE,
      log,
      onChange: () => {
        this.schedule();
      },
      ctx: {
        envSources: (d) => envSources(rest, d),
        credentials: (d, registry) => pullCredentials(rest, d.namespace, d.podSpec, registry),
      },
    });
  }

  onService(type: string, svc: ServiceObject): void {
    const ns = svc.metadata.namespace ?? 'default';
    const id = revisionId(ns, svc.metadata.name);
    if (type === 'DELETED') {
      this.services.delete(id);
      for (const [rid, r] of this.revisions)
        if (r.metadata.namespace === ns && r.metadata.labels?.[L_SERVICE] === svc.metadata.name)
          this.revisions.delete(rid);
    } else this.services.set(id, svc);
    this.schedule();
  }

  schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.sync();
    }, 50);
  }

  private async sync(): Promise<void> {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    try {
      do {
        this.again = false;
        await this.syncOnce().catch((err: unknown) => {
          log(`data plane: ${err instanceof Error ? err.message : String(err)}; retrying in 2 s`);
          setTimeout(() => {
            this.schedule();
          }, 2000);
        });
      } while (this.pending());
    } finally {
      this.running = false;
    }
  }

  private pending(): boolean {
    return this.again;
  }

  private async syncOnce(): Promise<void> {
    const services = [...this.services.values()];
    const wanted = trafficRevisions(services);
    const keep = new Set<string>();
    for (const ref of wanted) {
      const id = revisionId(ref.namespace, ref.name);
      keep.add(id);
      if (this.revisions.has(id)) continue;
      const rev = await this.rest.get<RevisionView & KubeObject>(path(ref.namespace, 'revisions', ref.name));
      // Only a Ready revision of this very Service is kept (one of an earlier Service of the same name
      // is fetched again next time).
      if (rev && isReadyRevision(rev) && ownedBy(rev, ref)) this.revisions.set(id, rev);
    }
    for (const id of this.revisions.keys()) if (!keep.has(id)) this.revisions.delete(id);
    const desired = desiredRevisions(services, [...this.revisions.values()]);
    const { start, stop } = containerChanges(desired, this.runner.keys());
    for (const key of stop) this.runner.stop(key, 'it no longer receives traffic');
    for (const d of start) this.runner.start(d);
  }
}

/** The Secrets and ConfigMaps the container's env names, read from the API. */
async function envSources(rest: KubeRest, d: DesiredRevision): Promise<EnvSources> {
  const secrets = new Map<string, Record<string, string> | undefined>();
  const configMaps = new Map<string, Record<string, string> | undefined>();
  const c = d.container;
  for (const f of c.envFrom ?? []) {
    if (f.secretRef?.name) secrets.set(f.secretRef.name, undefined);
    if (f.configMapRef?.name) configMaps.set(f.configMapRef.name, undefined);
  }
  for (const e of c.env ?? []) {
    if (e.valueFrom?.secretKeyRef?.name) secrets.set(e.valueFrom.secretKeyRef.name, undefined);
    if (e.valueFrom?.configMapKeyRef?.name) configMaps.set(e.valueFrom.configMapKeyRef.name, undefined);
  }
  for (const name of secrets.keys()) {
    const obj = await rest.get<{ data?: Record<string, string> }>(
      resourcePath('', 'v1', d.namespace, 'secrets', name),
    );
    if (obj)
      secrets.set(
        name,
        Object.fromEntries(
          Object.entries(obj.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
        ),
      );
  }
  for (const name of configMaps.keys()) {
    const obj = await rest.get<{ data?: Record<string, string> }>(
      resourcePath('', 'v1', d.namespace, 'configmaps', name),
    );
    if (obj) configMaps.set(name, obj.data ?? {});
  }
  return { secret: (n) => secrets.get(n), configMap: (n) => configMaps.get(n) };
}

function argValue(flag: string): string | undefined {
  const i = process.argv.indexOf(flag);
  return i > 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const kubeconfig = argValue('--kubeconfig') ?? process.env['KUBECONFIG'];
  if (!kubeconfig) throw new Error('usage: knative-serving-standin.ts --kubeconfig <admin kubeconfig>');
  const rest = KubeRest.fromFile(kubeconfig);
  const abort = new AbortController();
  const plane = new DataPlane(rest);
  const handles: { ingress?: Ingress } = {};
  let stopping = false;
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.on(sig, () => {
      if (stopping) return;
      stopping = true;
      log(`${sig}: stopping; removing the revision containers`);
      abort.abort();
      void Promise.allSettled([handles.ingress?.close(), plane.runner.stopAll()]).then(() => process.exit(0));
    });
  }
  const removed = await plane.runner.sweep();
  if (removed > 0) log(`data plane: removed ${removed} container(s) left by an earlier run`);
  const ingressOptions = {
    port: Number(argValue('--ingress-port') ?? '0'),
    routes: () => routeTable([...plane.services.values()]),
    backend: (ns: string, revision: string) => plane.runner.backend(ns, revision),
    log,
  };
  const ingress = await startIngress(ingressOptions).catch((err: unknown) => {
    if (!process.argv.includes('--ingress-port-fallback') || ingressOptions.port === 0) throw err;
    log(`ingress: port ${ingressOptions.port} not available (${errorText(err)}); taking any free port`);
    return startIngress({ ...ingressOptions, port: 0 });
  });
  handles.ingress = ingress;
  const addressFile = argValue('--ingress-address-file');
  if (addressFile) {
    fs.mkdirSync(dirname(addressFile), { recursive: true });
    fs.writeFileSync(`${addressFile}.tmp`, `${ingress.address}\n`);
    fs.renameSync(`${addressFile}.tmp`, addressFile);
  }
  log(`ingress listening on http://${ingress.address} (routes by Host header)`);
  type Item = { type: string; svc: ServiceObject; attempt: number };
  const queue: KeyedQueue<Item> = new KeyedQueue<Item>(async (key, item) => {
    const { type, svc } = item;
    const ns = svc.metadata.namespace ?? 'default';
    try {
      if (type === 'DELETED') {
        log(`${ns}/${svc.metadata.name}: deleted; deleting its Configuration, Route and Revisions`);
        await deleteChildren(rest, ns, svc.metadata.name, svc.metadata.uid);
        return;
      }
      await reconcile(rest, ns, svc.metadata.name);
    } catch (err) {
      // Like a controller's work queue: retry with a delay, a few times.
      if (item.attempt >= 5) throw err;
      log(`${key}: ${err instanceof Error ? err.message : String(err)}; retry ${item.attempt + 1} in 2 s`);
      setTimeout(() => {
        queue.push(key, { ...item, attempt: item.attempt + 1 });
      }, 2000);
    }
  }, log);
  log(`watching ${rest.server} for ${GROUP} services`);
  await listAndWatch<ServiceObject>(
    rest,
    `/apis/${GROUP}/${VERSION}/services`,
    (ev) => {
      const svc = ev.object;
      plane.onService(ev.type, svc);
      if (ev.type !== 'DELETED' && !needsReconcile(svc)) return;
      queue.push(`${svc.metadata.namespace}/${svc.metadata.name}`, { type: ev.type, svc, attempt: 0 });
    },
    abort.signal,
    log,
    () => {
      log('synced: initial list done');
    },
  );
}

main().catch((err: unknown) => {
  log(`fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
});
