// The Knative Serving stand-in's data plane decisions (which revisions run, how their containers are
// started, where the ingress sends a request) and its ingress proxy against a local HTTP server.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { load } from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  containerChanges,
  containerEnv,
  containerLabels,
  containerName,
  desiredRevisions,
  dockerRunArgs,
  hasCommand,
  hostOf,
  imageEnvMap,
  isLoopbackUrl,
  ownedBy,
  pickTarget,
  readinessCheck,
  routeRequest,
  routeTable,
  servingContainer,
  specEnv,
  trafficRevisions,
  upstreamToMove,
  withPort,
  type EnvSources,
  type RevisionView,
  type ServiceView,
} from '../../../test/standins/knative-serving-dataplane.ts';
import { startIngress, type Backend, type Ingress } from '../../../test/standins/knative-ingress.ts';
import {
  serviceStatus,
  type KService,
  type RevisionInfo,
  type ServiceStatus,
} from '../../../test/standins/knative-serving-logic.ts';

const fixtures = new URL('../../../../shared/fixtures/knative-status/', import.meta.url);
const tagged = load(
  fs.readFileSync(new URL('service-ready-tagged-traffic.yaml', fixtures), 'utf8'),
) as ServiceView & KService;

const NOW = '2030-01-01T00:00:00Z';
const REGISTRY = '127.0.0.1:5000/fn/echo';
const digestOf = (n: number): string => `sha256:${String(n).repeat(64).slice(0, 64)}`;

function service(name: string, uid = `uid-${name}`): KService {
  return {
    metadata: { name, namespace: 'faas-test', generation: 1, uid },
    spec: { template: { spec: { containers: [{ image: `${REGISTRY}:1` }] } } },
  };
}

/** A Service with the status the stand-in's control plane writes for these revisions. */
function withStatus(svc: KService, latestCreated: RevisionInfo, revisions: RevisionInfo[]): ServiceView {
  const status: ServiceStatus = serviceStatus({ service: svc, latestCreated, revisions, now: NOW });
  return { metadata: svc.metadata, status };
}

function revision(
  svc: string,
  gen: number,
  opts: {
    ready?: boolean;
    serviceUid?: string;
    uid?: string;
    env?: Array<{ name: string; value: string }>;
  } = {},
): RevisionView {
  const name = `${svc}-${String(gen).padStart(5, '0')}`;
  return {
    metadata: {
      name,
      namespace: 'faas-test',
      uid: opts.uid ?? `rev-uid-${name}`,
      labels: {
        'serving.knative.dev/service': svc,
        'serving.knative.dev/serviceUID': opts.serviceUid ?? `uid-${svc}`,
        'serving.knative.dev/configuration': svc,
        'serving.knative.dev/configurationGeneration': String(gen),
      },
    },
    spec: {
      containers: [
        {
          name: 'function',
          image: `${REGISTRY}:${gen}`,
          ports: [{ name: 'http1', containerPort: 8080 }],
          readinessProbe: { httpGet: { path: '/_/health' } },
          ...(opts.env ? { env: opts.env } : {}),
        },
      ],
      imagePullSecrets: [{ name: 'pull' }],
    },
    status: {
      conditions: [
        {
          type: 'Ready',
          status: opts.ready === false ? 'False' : 'True',
          lastTransitionTime: NOW,
        },
      ],
      containerStatuses: [{ name: 'function', imageDigest: `${REGISTRY}@${digestOf(gen)}` }],
    },
  };
}

/** `ready` 'pending': digests still resolving (Ready Unknown). */
const info = (svc: string, gen: number, ready: boolean | 'pending' = true): RevisionInfo => ({
  name: `${svc}-${String(gen).padStart(5, '0')}`,
  configurationGeneration: gen,
  ready: ready === 'pending' ? undefined : ready,
});

describe('knative stand-in data plane: which revisions run', () => {
  it('a Ready Service: its one revision runs, by the digest the revision resolved, with K_* names', () => {
    const svc = withStatus(service('echo'), info('echo', 1), [info('echo', 1)]);
    const desired = desiredRevisions([svc], [revision('echo', 1)]);
    expect(desired).toHaveLength(1);
    expect(desired[0]).toMatchObject({
      key: 'rev-uid-echo-00001',
      namespace: 'faas-test',
      name: 'echo-00001',
      service: 'echo',
      configuration: 'echo',
      image: `${REGISTRY}@${digestOf(1)}`,
      podSpec: { imagePullSecrets: [{ name: 'pull' }] },
    });
    expect(trafficRevisions([svc])).toEqual([
      { namespace: 'faas-test', name: 'echo-00001', service: 'echo', serviceUid: 'uid-echo' },
    ]);
  });

  it('a Service that never became Ready has no traffic, so nothing runs', () => {
    const svc = withStatus(service('broken'), info('broken', 1, false), [info('broken', 1, false)]);
    expect(svc.status?.traffic).toBeUndefined();
    expect(desiredRevisions([svc], [revision('broken', 1, { ready: false })])).toEqual([]);
  });

  it('while the update resolves, the old revision keeps running; once the new is Ready it takes over', () => {
    const during = withStatus(service('echo'), info('echo', 2, 'pending'), [
      info('echo', 1),
      info('echo', 2, 'pending'),
    ]);
    const revs = [revision('echo', 1), revision('echo', 2)];
    expect(desiredRevisions([during], revs).map((d) => d.name)).toEqual(['echo-00001']);
    const after = withStatus(service('echo'), info('echo', 2), [info('echo', 1), info('echo', 2)]);
    const desired = desiredRevisions([after], revs);
    expect(desired.map((d) => d.name)).toEqual(['echo-00002']);
    expect(containerChanges(desired, ['rev-uid-echo-00001'])).toEqual({
      start: desired,
      stop: ['rev-uid-echo-00001'],
    });
  });

  it('a failed update keeps traffic (and the container) on the previous revision', () => {
    const svc = withStatus(service('echo'), info('echo', 2, false), [
      info('echo', 1),
      info('echo', 2, false),
    ]);
    const desired = desiredRevisions([svc], [revision('echo', 1), revision('echo', 2, { ready: false })]);
    expect(desired.map((d) => d.name)).toEqual(['echo-00001']);
    expect(containerChanges(desired, ['rev-uid-echo-00001'])).toEqual({ start: [], stop: [] });
  });

  it('a deleted (or deleting) Service: its containers stop', () => {
    const svc = withStatus(service('echo'), info('echo', 1), [info('echo', 1)]);
    const deleting = { ...svc, metadata: { ...svc.metadata, deletionTimestamp: NOW } };
    expect(desiredRevisions([deleting], [revision('echo', 1)])).toEqual([]);
    expect(containerChanges(desiredRevisions([], [revision('echo', 1)]), ['rev-uid-echo-00001'])).toEqual({
      start: [],
      stop: ['rev-uid-echo-00001'],
    });
  });

  it('split and tagged traffic: every revision with a percent or a tag runs, each once', () => {
    const revs = ['example-service-1', 'example-service-2'].map((name) => ({
      ...revision('example-service', 1, { serviceUid: tagged.metadata.uid ?? '' }),
      metadata: {
        name,
        namespace: 'default',
        uid: `uid-${name}`,
        labels: {
          'serving.knative.dev/service': 'example-service',
          'serving.knative.dev/serviceUID': tagged.metadata.uid ?? '',
        },
      },
    }));
    const desired = desiredRevisions([tagged], revs);
    expect(desired.map((d) => d.name).sort()).toEqual(['example-service-1', 'example-service-2']);
    // A tag with percent 0 still receives traffic through its own URL.
    const zeroButTagged: ServiceView = {
      metadata: { name: 'example-service', namespace: 'default', uid: tagged.metadata.uid ?? '' },
      status: {
        url: 'http://example-service.default.example.com',
        traffic: [
          { revisionName: 'example-service-2', percent: 100, latestRevision: true },
          { revisionName: 'example-service-1', percent: 0, tag: 'old', latestRevision: false },
        ],
      },
    };
    expect(
      desiredRevisions([zeroButTagged], revs)
        .map((d) => d.name)
        .sort(),
    ).toEqual(['example-service-1', 'example-service-2']);
    // Without a tag, 0 % receives nothing.
    const untagged = structuredClone(zeroButTagged);
    delete untagged.status?.traffic?.[1]?.tag;
    expect(desiredRevisions([untagged], revs).map((d) => d.name)).toEqual(['example-service-2']);
  });

  it('a revision left by an earlier Service of the same name (other serviceUID) does not run', () => {
    const svc = withStatus(service('echo', 'new-uid'), info('echo', 1), [info('echo', 1)]);
    expect(desiredRevisions([svc], [revision('echo', 1, { serviceUid: 'old-uid' })])).toEqual([]);
    expect(desiredRevisions([svc], [revision('echo', 1, { serviceUid: 'new-uid' })])).toHaveLength(1);
    const ref = { service: 'echo', serviceUid: 'new-uid' };
    expect(ownedBy(revision('echo', 1, { serviceUid: 'old-uid' }), ref)).toBe(false);
    expect(ownedBy(revision('echo', 1, { serviceUid: 'new-uid' }), ref)).toBe(true);
    expect(ownedBy(revision('other', 1), ref)).toBe(false);
    expect(ownedBy(revision('echo', 1), { service: 'echo' })).toBe(true);
  });

  it('the serving container is the one with a port; the image falls back to the spec without a digest', () => {
    expect(
      servingContainer({ containers: [{ name: 'side' }, { name: 'main', ports: [{ containerPort: 8080 }] }] })
        ?.name,
    ).toBe('main');
    expect(servingContainer({ containers: [{ name: 'only' }] })?.name).toBe('only');
    expect(servingContainer({})).toBeUndefined();
    const rev = revision('echo', 1);
    delete rev.status?.containerStatuses;
    const svc = withStatus(service('echo'), info('echo', 1), [info('echo', 1)]);
    expect(desiredRevisions([svc], [rev])[0]?.image).toBe(`${REGISTRY}:1`);
  });

  it('containerChanges: start what is missing, stop what is no longer wanted, leave the rest', () => {
    expect(containerChanges([{ key: 'a' }, { key: 'b' }], ['b', 'c'])).toEqual({
      start: [{ key: 'a' }],
      stop: ['c'],
    });
  });
});

describe('knative stand-in data plane: the container', () => {
  const sources: EnvSources = {
    secret: (n) => (n === 'creds' ? { TOKEN: 's3cret', USER: 'ada' } : undefined),
    configMap: (n) => (n === 'settings' ? { MODE: 'fast' } : undefined),
  };

  it('env from the spec: envFrom (with prefix) first, env after it; secretKeyRef and configMapKeyRef', () => {
    const got = specEnv(
      {
        envFrom: [{ secretRef: { name: 'creds' } }, { configMapRef: { name: 'settings' }, prefix: 'CFG_' }],
        env: [
          { name: 'USER', value: 'grace' },
          { name: 'KEY', valueFrom: { secretKeyRef: { name: 'creds', key: 'TOKEN' } } },
          { name: 'M', valueFrom: { configMapKeyRef: { name: 'settings', key: 'MODE' } } },
          { name: 'GONE', valueFrom: { secretKeyRef: { name: 'nope', key: 'x', optional: true } } },
        ],
      },
      sources,
    );
    expect(got).toEqual({
      ok: true,
      env: [
        ['TOKEN', 's3cret'],
        ['USER', 'grace'],
        ['CFG_MODE', 'fast'],
        ['KEY', 's3cret'],
        ['M', 'fast'],
      ],
    });
  });

  it('a missing required Secret or key: the container is not started (CreateContainerConfigError)', () => {
    expect(specEnv({ envFrom: [{ secretRef: { name: 'nope' } }] }, sources)).toEqual({
      ok: false,
      error: 'secret "nope" not found',
    });
    expect(
      specEnv(
        { env: [{ name: 'K', valueFrom: { secretKeyRef: { name: 'creds', key: 'MISSING' } } }] },
        sources,
      ),
    ).toEqual({ ok: false, error: "couldn't find key MISSING in Secret creds" });
    expect(specEnv({ envFrom: [{ configMapRef: { name: 'nope', optional: true } }] }, sources)).toEqual({
      ok: true,
      env: [],
    });
  });

  it('port and PORT are the free port; K_SERVICE/K_CONFIGURATION/K_REVISION as Knative injects them', () => {
    const env = containerEnv({
      spec: [
        ['TARGET', 'x'],
        ['port', '9999'],
      ],
      port: 41000,
      service: 'echo',
      configuration: 'echo',
      revision: 'echo-00002',
    });
    expect(Object.fromEntries(env)).toEqual({
      TARGET: 'x',
      port: '41000',
      PORT: '41000',
      K_SERVICE: 'echo',
      K_CONFIGURATION: 'echo',
      K_REVISION: 'echo-00002',
    });
  });

  it("of-watchdog's upstream_url on 127.0.0.1 (from the image, or the spec) moves to its own port", () => {
    const image = imageEnvMap([
      'PATH=/usr/bin',
      'fprocess=/usr/bin/function-server',
      'mode=http',
      'upstream_url=http://127.0.0.1:8082',
    ]);
    expect(image.get('mode')).toBe('http');
    const url = upstreamToMove([], image);
    expect(url).toBe('http://127.0.0.1:8082');
    const env = containerEnv({
      spec: [],
      upstream: { url: url ?? '', port: 41001 },
      port: 41000,
      service: 's',
      configuration: 's',
      revision: 's-00001',
    });
    expect(Object.fromEntries(env)['upstream_url']).toBe('http://127.0.0.1:41001');
    expect(upstreamToMove([['upstream_url', 'http://localhost:3000/base']], image)).toBe(
      'http://localhost:3000/base',
    );
    expect(withPort('http://localhost:3000/base', 5)).toBe('http://localhost:5/base');
    expect(withPort('http://127.0.0.1:8082/', 5)).toBe('http://127.0.0.1:5/');
    // Not on this host, or no upstream at all (classic watchdog): nothing moves.
    expect(upstreamToMove([['upstream_url', 'http://backend.svc:8082']], image)).toBeUndefined();
    expect(upstreamToMove([], imageEnvMap(['fprocess=cat']))).toBeUndefined();
    expect(imageEnvMap(null).size).toBe(0);
    expect(isLoopbackUrl('http://127.0.0.2:1')).toBe(true);
    expect(isLoopbackUrl('unix:///x')).toBe(false);
    expect(isLoopbackUrl('not a url')).toBe(false);
  });

  it('docker run: detached, host network, labels, env, workdir, user; command → entrypoint, args after the image', () => {
    const svc = withStatus(service('echo'), info('echo', 1), [info('echo', 1)]);
    const d = desiredRevisions([svc], [revision('echo', 1)])[0];
    if (!d) throw new Error('no desired revision');
    const labels = containerLabels(d, '/tmp/state');
    expect(labels).toEqual({
      'faas-deploy.standin': 'knative-serving',
      'faas-deploy.standin.state': '/tmp/state',
      'serving.knative.dev/namespace': 'faas-test',
      'serving.knative.dev/service': 'echo',
      'serving.knative.dev/revision': 'echo-00001',
      'serving.knative.dev/revisionUID': 'rev-uid-echo-00001',
    });
    const name = containerName('faas-test', 'echo-00001', 'rev-uid-echo-00001');
    expect(name).toBe('knative-faas-test-echo-00001-rev-uid-');
    expect(
      dockerRunArgs({
        name,
        image: d.image,
        env: [['port', '41000']],
        labels: { a: 'b' },
        container: {
          command: ['/bin/sh', '-c'],
          args: ['exec server'],
          workingDir: '/work',
          securityContext: { runAsUser: 65534 },
        },
      }),
    ).toEqual([
      'run', '-d', '--name', name, '--network', 'host', '--pull', 'never',
      '--label', 'a=b',
      '--workdir', '/work',
      '--user', '65534',
      '--env', 'port=41000',
      '--entrypoint', '/bin/sh',
      d.image, '-c', 'exec server',
    ]); // prettier-ignore
    expect(
      dockerRunArgs({ name, image: 'img', env: [], labels: {}, container: { args: ['x'] } }).slice(-2),
    ).toEqual(['img', 'x']);
  });

  it('something to run: the image ENTRYPOINT/CMD or the container command/args (layerless test images have none)', () => {
    expect(hasCommand({ Entrypoint: ['/usr/bin/fwatchdog'], Cmd: null }, {})).toBe(true);
    expect(hasCommand({ Cmd: ['/bin/sh'] }, {})).toBe(true);
    expect(hasCommand({ Env: ['A=b'], Entrypoint: null, Cmd: null }, {})).toBe(false);
    expect(hasCommand(null, { args: ['serve'] })).toBe(true);
    expect(hasCommand({}, { command: ['/server'] })).toBe(true);
    expect(hasCommand({ Entrypoint: [], Cmd: [] }, { args: [] })).toBe(false);
  });

  it('readiness: the readinessProbe httpGet path, else a TCP connect', () => {
    expect(readinessCheck({ readinessProbe: { httpGet: { path: '/_/ready' } } })).toEqual({
      kind: 'http',
      path: '/_/ready',
    });
    expect(readinessCheck({ readinessProbe: { httpGet: {} } })).toEqual({ kind: 'http', path: '/' });
    expect(readinessCheck({ readinessProbe: { tcpSocket: { port: 0 } } })).toEqual({ kind: 'tcp' });
    expect(readinessCheck({})).toEqual({ kind: 'tcp' });
  });
});

describe('knative stand-in data plane: routing by Host', () => {
  it('hostOf strips the port, lower-cases, drops a trailing dot', () => {
    expect(hostOf('Echo.Faas-Test.example.com:8080')).toBe('echo.faas-test.example.com');
    expect(hostOf('echo.faas-test.example.com.')).toBe('echo.faas-test.example.com');
    expect(hostOf('[::1]:80')).toBe('[::1]');
    expect(hostOf(undefined)).toBe('');
  });

  it('status.url host → the split; each tag URL host → its revision (service-ready-tagged-traffic.yaml)', () => {
    const routes = routeTable([tagged]);
    expect([...routes.keys()].sort()).toEqual([
      'candidate-example-service.default.example.com',
      'current-example-service.default.example.com',
      'example-service.default.example.com',
      'latest-example-service.default.example.com',
    ]);
    expect(routes.get('example-service.default.example.com')).toEqual({
      service: 'default/example-service',
      targets: [
        { namespace: 'default', revision: 'example-service-1', percent: 50 },
        { namespace: 'default', revision: 'example-service-2', percent: 50 },
      ],
    });
    expect(routes.get('latest-example-service.default.example.com')?.targets).toEqual([
      { namespace: 'default', revision: 'example-service-2', percent: 100 },
    ]);
    expect(routeRequest(routes, 'current-example-service.default.example.com:80', 0.99)).toEqual({
      kind: 'revision',
      host: 'current-example-service.default.example.com',
      service: 'default/example-service',
      namespace: 'default',
      revision: 'example-service-1',
    });
    expect(routeRequest(routes, 'example-service.default.example.com', 0.2)).toMatchObject({
      revision: 'example-service-1',
    });
    expect(routeRequest(routes, 'example-service.default.example.com', 0.7)).toMatchObject({
      revision: 'example-service-2',
    });
    expect(routeRequest(routes, 'other.default.example.com', 0.5)).toEqual({
      kind: 'unknown-host',
      host: 'other.default.example.com',
    });
  });

  it('Services without traffic, and deleting ones, have no route; cluster-local hosts are routed too', () => {
    const never = withStatus(service('never'), info('never', 1, false), [info('never', 1, false)]);
    const local = withStatus(
      {
        ...service('private'),
        metadata: {
          ...service('private').metadata,
          labels: { 'networking.knative.dev/visibility': 'cluster-local' },
        },
      },
      info('private', 1),
      [info('private', 1)],
    );
    const routes = routeTable([never, local]);
    expect([...routes.keys()]).toEqual(['private.faas-test.svc.cluster.local']);
    expect(routeTable([{ ...local, metadata: { ...local.metadata, deletionTimestamp: NOW } }]).size).toBe(0);
  });

  it('pickTarget splits by percent; a route whose targets all have 0 % takes the first', () => {
    const targets = [
      { namespace: 'n', revision: 'a', percent: 10 },
      { namespace: 'n', revision: 'b', percent: 90 },
    ];
    expect(pickTarget(targets, 0)?.revision).toBe('a');
    expect(pickTarget(targets, 0.0999)?.revision).toBe('a');
    expect(pickTarget(targets, 0.1)?.revision).toBe('b');
    expect(pickTarget(targets, 0.9999)?.revision).toBe('b');
    let a = 0;
    for (let i = 0; i < 1000; i++) if (pickTarget(targets, i / 1000)?.revision === 'a') a++;
    expect(a).toBe(100);
    expect(pickTarget([{ namespace: 'n', revision: 'z', percent: 0 }], 0.5)?.revision).toBe('z');
    expect(pickTarget([], 0.5)).toBeUndefined();
  });
});

describe('knative stand-in ingress (HTTP proxy)', () => {
  let backend: http.Server;
  let backendPort = 0;
  let ingress: Ingress;
  const seen: Array<{ method?: string; url?: string; headers: http.IncomingHttpHeaders; body: string }> = [];
  let state: Backend = { ok: false, reason: 'container starting, not answering yet' };
  const svc = withStatus(service('echo'), info('echo', 1), [info('echo', 1)]);

  beforeAll(async () => {
    backend = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        seen.push({ method: req.method, url: req.url, headers: req.headers, body });
        res.writeHead(201, { 'X-Function': 'echo', 'Content-Type': 'text/plain' });
        res.end(`${req.method} ${req.url} ${body}`);
      });
    });
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    backendPort = (backend.address() as AddressInfo).port;
    ingress = await startIngress({
      port: 0,
      routes: () => routeTable([svc]),
      backend: (ns, rev) => (ns === 'faas-test' && rev === 'echo-00001' ? state : { ok: false, reason: '?' }),
      log: () => undefined,
    });
  });
  afterAll(async () => {
    await ingress.close();
    await new Promise((r) => backend.close(r));
  });

  /** fetch() may not set Host, so node:http. */
  const call = (
    host: string,
    init: { method?: string; body?: string; headers?: Record<string, string> } = {},
    pathAndQuery = '/',
  ): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> =>
    new Promise((resolve, reject) => {
      const [h, p] = ingress.address.split(':');
      const req = http.request(
        {
          host: h,
          port: Number(p),
          path: pathAndQuery,
          method: init.method ?? 'GET',
          headers: { ...init.headers, Host: host },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              text: Buffer.concat(chunks).toString('utf8'),
            });
          });
        },
      );
      req.on('error', reject);
      req.end(init.body);
    });

  it('unknown host → 404 with an empty body', async () => {
    const res = await call('nobody.faas-test.example.com');
    expect(res.status).toBe(404);
    expect(res.text).toBe('');
  });

  it('known host whose container does not answer yet → 503 with the reason', async () => {
    state = { ok: false, reason: 'container starting, not answering yet' };
    const res = await call('echo.faas-test.example.com', { method: 'POST', body: 'x' });
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.text).toMatch(/faas-test\/echo-00001: container starting/);
  });

  it('known host, nothing listening on the port (refused) → 503', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    state = { ok: true, port };
    const res = await call('echo.faas-test.example.com');
    expect(res.status).toBe(503);
    expect(res.text).toMatch(/ECONNREFUSED/);
  });

  it('proxies method, path, query, headers and body; answers status, headers and body', async () => {
    state = { ok: true, port: backendPort };
    seen.length = 0;
    const res = await call(
      'Echo.faas-test.example.com:8080',
      {
        method: 'PUT',
        body: '{"Name": "Foo"}',
        headers: { 'X-Custom': 'yes', 'Content-Type': 'application/json' },
      },
      '/some/path?a=1&b=two%20words',
    );
    expect(res.status).toBe(201);
    expect(res.headers['x-function']).toBe('echo');
    expect(res.text).toBe('PUT /some/path?a=1&b=two%20words {"Name": "Foo"}');
    expect(seen[0]?.headers).toMatchObject({
      host: 'Echo.faas-test.example.com:8080',
      'x-custom': 'yes',
      'content-type': 'application/json',
      'x-forwarded-for': '127.0.0.1',
      'x-forwarded-proto': 'http',
    });
  });

  it('a large body passes through unchanged', async () => {
    state = { ok: true, port: backendPort };
    const big = 'x'.repeat(3 * 1024 * 1024);
    const res = await call('echo.faas-test.example.com', { method: 'POST', body: big });
    expect(res.text.length).toBe('POST / '.length + big.length);
  });
});
