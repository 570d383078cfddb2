// The Knative Serving stand-in's status logic against the shapes of the knative-status fixtures
// (shared/fixtures/knative-status, assembled from knative/serving 1.23 sources).
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { load } from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  beginReconcileStatus,
  isServiceSettled,
  needsReconcile,
  revisionInfoFromStatus,
  revisionNameFor,
  revisionResolvedStatus,
  revisionResolvingStatus,
  serviceStatus,
  setConditions,
  type KService,
  type RevisionInfo,
  type RevisionStatus,
  type ServiceStatus,
} from '../../../test/standins/knative-serving-logic.ts';
import {
  credentialsFromDockerConfig,
  parseImageRef,
  resolveDigest,
} from '../../../test/standins/registry-resolve.ts';

const fixtures = new URL('../../../../shared/fixtures/knative-status/', import.meta.url);

type ServiceFixture = KService & { status: ServiceStatus };
interface RevisionFixture {
  spec: { containers: Array<{ name: string; image: string }> };
  status: RevisionStatus;
}

function read(name: string): unknown {
  return load(fs.readFileSync(new URL(name, fixtures), 'utf8'));
}
const fixture = (name: string): ServiceFixture => read(name) as ServiceFixture;
const revisionFixture = (name: string): RevisionFixture => read(name) as RevisionFixture;

/** The Service as the stand-in sees it on a new generation: spec and metadata, status of before. */
function withoutStatus(svc: KService, previous?: ServiceStatus): KService {
  const copy = structuredClone(svc);
  delete copy.status;
  if (previous) copy.status = structuredClone(previous);
  return copy;
}

const ready = (name: string, gen: number): RevisionInfo => ({
  name,
  configurationGeneration: gen,
  ready: true,
});

describe('knative stand-in: Service status', () => {
  it('first revision ready: the status of service-ready.yaml (our domain is example.com)', () => {
    const fx = fixture('service-ready.yaml');
    const now = '2023-05-01T12:08:18Z';
    const got = serviceStatus({
      service: withoutStatus(fx),
      latestCreated: ready('hello-00001', 1),
      revisions: [ready('hello-00001', 1)],
      now,
    });
    expect(got).toEqual({ ...fx.status, url: 'http://hello.default.example.com' });
  });

  it('cluster-local label: url and address on svc.cluster.local (service-ready-cluster-local.yaml)', () => {
    const fx = fixture('service-ready-cluster-local.yaml');
    const got = serviceStatus({
      service: withoutStatus(fx, fx.status),
      latestCreated: ready('hello-00001', 1),
      revisions: [ready('hello-00001', 1)],
      now: '2030-01-01T00:00:00Z',
    });
    // Same status, same transition times (nothing changed state).
    expect(got).toEqual(fx.status);
  });

  it('first deploy with a missing image: Ready False/RevisionMissing, url but no address or traffic', () => {
    const fx = fixture('service-failed-revision-missing.yaml');
    const rev = revisionFixture('revision-failed-container-missing.yaml');
    const latest = revisionInfoFromStatus('hello-00001', 1, rev.status);
    expect(latest.ready).toBe(false);
    const got = serviceStatus({
      service: withoutStatus(fx),
      latestCreated: latest,
      revisions: [latest],
      now: '2025-03-10T10:00:03Z',
    });
    expect(got).toEqual({ ...fx.status, url: 'http://hello.default.example.com' });
    expect(got.address).toBeUndefined();
    expect(got.traffic).toBeUndefined();
    expect(got.latestReadyRevisionName).toBeUndefined();
  });

  it('failed update keeps the previous revision serving (service-failed-update-previous-revision-serving.yaml)', () => {
    const before = fixture('service-ready.yaml');
    const fx = fixture('service-failed-update-previous-revision-serving.yaml');
    const rev = revisionFixture('revision-failed-container-missing.yaml');
    const failed: RevisionInfo = { ...revisionInfoFromStatus('hello-00002', 2, rev.status) };
    const svc = withoutStatus(fx, before.status);
    const got = serviceStatus({
      service: svc,
      latestCreated: failed,
      revisions: [ready('hello-00001', 1), failed],
      now: '2023-05-01T12:30:07Z',
    });
    // RoutesReady kept its transition time from generation 1: it never changed state.
    expect(got.conditions).toEqual(fx.status.conditions);
    expect(got.traffic).toEqual(fx.status.traffic);
    expect(got.address).toEqual(fx.status.address);
    expect(got.latestCreatedRevisionName).toBe('hello-00002');
    expect(got.latestReadyRevisionName).toBe('hello-00001');
    expect(got.observedGeneration).toBe(2);
    expect(isServiceSettled({ ...svc, status: got })).toBe('failed');
  });

  it('tagged and pinned traffic: tag URLs only on tagged targets (service-ready-tagged-traffic.yaml)', () => {
    const fx = fixture('service-ready-tagged-traffic.yaml');
    const revisions = [ready('example-service-1', 2), ready('example-service-2', 3)];
    const got = serviceStatus({
      service: withoutStatus(fx),
      latestCreated: ready('example-service-2', 3),
      revisions,
      now: '2025-03-10T09:15:03Z',
    });
    expect(got.traffic).toEqual(fx.status.traffic);
    expect(got.url).toBe(fx.status.url);
    expect(got.address).toEqual(fx.status.address);
    expect(got.conditions?.map((c) => [c.type, c.status])).toEqual([
      ['ConfigurationsReady', 'True'],
      ['Ready', 'True'],
      ['RoutesReady', 'True'],
    ]);
  });

  it('a pinned revision that does not exist fails the route', () => {
    const fx = fixture('service-ready-tagged-traffic.yaml');
    const got = serviceStatus({
      service: withoutStatus(fx),
      latestCreated: ready('example-service-2', 3),
      revisions: [ready('example-service-2', 3)],
      now: '2025-03-10T09:15:03Z',
    });
    const routes = got.conditions?.find((c) => c.type === 'RoutesReady');
    expect(routes).toMatchObject({
      status: 'False',
      reason: 'RevisionMissing',
      message: 'Revision "example-service-1" referenced in traffic not found.',
    });
    expect(got.conditions?.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'False',
      reason: 'RevisionMissing',
    });
  });

  it('while the new revision resolves: Unknown, traffic still on the old revision', () => {
    const before = fixture('service-ready.yaml');
    const svc = withoutStatus({ ...before, metadata: { ...before.metadata, generation: 2 } }, before.status);
    const pending: RevisionInfo = { name: 'hello-00002', configurationGeneration: 2, ready: undefined };
    const got = serviceStatus({
      service: svc,
      latestCreated: pending,
      revisions: [ready('hello-00001', 1), pending],
      now: '2023-05-01T12:30:00Z',
    });
    expect(got.conditions?.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'Unknown',
      reason: 'TrafficNotMigrated',
    });
    expect(got.traffic?.[0]?.revisionName).toBe('hello-00001');
    expect(isServiceSettled({ ...svc, status: got })).toBe('pending');
  });

  it('start of a new generation: Ready Unknown/NewObservedGenFailure, observedGeneration not bumped', () => {
    const before = fixture('service-ready.yaml');
    const svc = withoutStatus({ ...before, metadata: { ...before.metadata, generation: 2 } }, before.status);
    const got = beginReconcileStatus(svc, '2023-05-01T12:30:00Z');
    expect(got.observedGeneration).toBe(1);
    expect(got.conditions?.find((c) => c.type === 'Ready')).toEqual({
      type: 'Ready',
      status: 'Unknown',
      reason: 'NewObservedGenFailure',
      message: 'unsuccessfully observed a new generation',
      lastTransitionTime: '2023-05-01T12:30:00Z',
    });
    expect(isServiceSettled({ ...svc, status: got })).toBe('pending');
    const fresh = beginReconcileStatus(withoutStatus(before), 'T');
    expect(fresh.conditions?.map((c) => `${c.type}=${c.status}`)).toEqual([
      'ConfigurationsReady=Unknown',
      'Ready=Unknown',
      'RoutesReady=Unknown',
    ]);
  });

  it('conditions stay sorted by type and keep lastTransitionTime when unchanged', () => {
    const a = setConditions(
      undefined,
      [
        { type: 'Ready', status: 'True' },
        { type: 'A', status: 'True' },
      ],
      't1',
    );
    const b = setConditions(
      a,
      [
        { type: 'Ready', status: 'True' },
        { type: 'A', status: 'False', reason: 'X' },
      ],
      't2',
    );
    expect(b).toEqual([
      { type: 'A', status: 'False', reason: 'X', lastTransitionTime: 't2' },
      { type: 'Ready', status: 'True', lastTransitionTime: 't1' },
    ]);
  });
});

describe('knative stand-in: Revision', () => {
  it('names: <service>-<5 digits>, or the template name', () => {
    const svc: KService = { metadata: { name: 'hello' }, spec: { template: {} } };
    expect(revisionNameFor(svc, 1)).toBe('hello-00001');
    expect(revisionNameFor(svc, 123)).toBe('hello-00123');
    expect(revisionNameFor({ ...svc, spec: { template: { metadata: { name: 'hello-v2' } } } }, 3)).toBe(
      'hello-v2',
    );
  });

  it('missing image: the conditions of revision-failed-container-missing.yaml', () => {
    const fx = revisionFixture('revision-failed-container-missing.yaml');
    const resolving = revisionResolvingStatus('2025-03-10T10:00:01Z');
    const error =
      'HEAD https://ghcr.io/v2/knative/helloworld-go/manifests/does-not-exist: unexpected status code 404 Not Found (HEAD responses have no body, use GET for details)';
    const got = revisionResolvedStatus(
      fx.spec.containers,
      [{ ok: false, error }],
      resolving,
      '2025-03-10T10:00:03Z',
    );
    expect(got).toEqual(fx.status);
  });

  it('resolved image: Ready with the digest in containerStatuses', () => {
    const digest = `127.0.0.1:5000/fn@sha256:${'a'.repeat(64)}`;
    const got = revisionResolvedStatus(
      [{ name: 'user-container', image: '127.0.0.1:5000/fn:1' }],
      [{ ok: true, digest }],
      revisionResolvingStatus('t0'),
      't1',
    );
    expect(got.containerStatuses).toEqual([{ name: 'user-container', imageDigest: digest }]);
    expect(got.conditions.map((c) => `${c.type}=${c.status}`)).toEqual([
      'ContainerHealthy=True',
      'Ready=True',
      'ResourcesAvailable=True',
    ]);
    expect(revisionInfoFromStatus('fn-00001', 1, got).ready).toBe(true);
  });
});

describe('knative stand-in: registry resolution', () => {
  it('parses image references', () => {
    expect(parseImageRef('127.0.0.1:5000/faas-base/runtime:1.2')).toEqual({
      registry: '127.0.0.1:5000',
      repository: 'faas-base/runtime',
      reference: '1.2',
      isDigest: false,
    });
    expect(parseImageRef(`localhost:5001/a@sha256:${'b'.repeat(64)}`)).toMatchObject({
      registry: 'localhost:5001',
      repository: 'a',
      reference: `sha256:${'b'.repeat(64)}`,
      isDigest: true,
    });
    expect(parseImageRef('busybox')).toMatchObject({
      registry: 'index.docker.io',
      repository: 'library/busybox',
      reference: 'latest',
    });
  });

  it('reads credentials from a .dockerconfigjson', () => {
    const auth = Buffer.from('u:p:w').toString('base64');
    const cfg = JSON.stringify({
      auths: { 'http://127.0.0.1:5001': { auth }, 'other:1': { username: 'x', password: 'y' } },
    });
    expect(credentialsFromDockerConfig(cfg, '127.0.0.1:5001')).toEqual({ username: 'u', password: 'p:w' });
    expect(credentialsFromDockerConfig(cfg, 'other:1')).toEqual({ username: 'x', password: 'y' });
    expect(credentialsFromDockerConfig(cfg, 'nope:1')).toBeUndefined();
  });

  describe('against a registry on 127.0.0.1', () => {
    const digest = `sha256:${'c'.repeat(64)}`;
    const seen: Array<{ method?: string; url?: string; accept?: string; auth?: string }> = [];
    let server: http.Server;
    let host: string;
    beforeAll(async () => {
      server = http.createServer((req, res) => {
        seen.push({
          method: req.method,
          url: req.url,
          accept: req.headers.accept,
          auth: req.headers.authorization,
        });
        if (req.headers.authorization !== `Basic ${Buffer.from('u:p').toString('base64')}`) {
          res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="test"' }).end();
        } else if (req.url === '/v2/') res.writeHead(200).end('{}');
        else if (req.url === '/v2/fn/manifests/1')
          res.writeHead(200, { 'Docker-Content-Digest': digest }).end();
        else res.writeHead(404).end();
      });
      await new Promise<void>((r) =>
        server.listen(0, '127.0.0.1', () => {
          r();
        }),
      );
      host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(
      () =>
        new Promise<void>((r) =>
          server.close(() => {
            r();
          }),
        ),
    );

    it('HEADs the manifest with the manifest media types and basic auth', async () => {
      const got = await resolveDigest(`${host}/fn:1`, { username: 'u', password: 'p' });
      expect(got).toEqual({ ok: true, digest: `${host}/fn@${digest}` });
      const head = seen.find((s) => s.method === 'HEAD');
      expect(head?.url).toBe('/v2/fn/manifests/1');
      expect(head?.accept).toContain('application/vnd.oci.image.index.v1+json');
      expect(head?.accept).toContain('application/vnd.docker.distribution.manifest.v2+json');
    });

    it('a missing tag gives go-containerregistry’s error text', async () => {
      const got = await resolveDigest(`${host}/fn:nope`, { username: 'u', password: 'p' });
      expect(got).toEqual({
        ok: false,
        error: `HEAD http://${host}/v2/fn/manifests/nope: unexpected status code 404 Not Found (HEAD responses have no body, use GET for details)`,
      });
    });

    it('a registry that is not listening', async () => {
      const closed = http.createServer();
      await new Promise<void>((r) =>
        closed.listen(0, '127.0.0.1', () => {
          r();
        }),
      );
      const port = (closed.address() as AddressInfo).port;
      await new Promise<void>((r) =>
        closed.close(() => {
          r();
        }),
      );
      const got = await resolveDigest(`127.0.0.1:${port}/fn:1`);
      expect(got).toEqual({
        ok: false,
        error: `Get "http://127.0.0.1:${port}/v2/": dial tcp 127.0.0.1:${port}: connect: connection refused`,
      });
    });
  });
});

describe('knative stand-in: when to reconcile', () => {
  it('on a new generation, and on a visibility label change that moves the URL', () => {
    const fx = fixture('service-ready.yaml');
    const settled = { ...fx, status: { ...fx.status, url: 'http://hello.default.example.com' } };
    expect(needsReconcile(settled)).toBe(false);
    expect(needsReconcile({ ...settled, metadata: { ...settled.metadata, generation: 2 } })).toBe(true);
    const local = {
      ...settled,
      metadata: { ...settled.metadata, labels: { 'networking.knative.dev/visibility': 'cluster-local' } },
    };
    expect(needsReconcile(local)).toBe(true);
    expect(
      needsReconcile({
        ...local,
        status: { ...local.status, url: 'http://hello.default.svc.cluster.local' },
      }),
    ).toBe(false);
  });
});
