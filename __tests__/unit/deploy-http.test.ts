// Pure pieces of the Kubernetes client: error messages from real API server answers, apply-conflict
// parsing, backoff; and the retry policy against a local HTTP server that fails on purpose (the real
// API server cannot be made to answer 503/429 on demand; the integration tests cover resets).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ForbiddenError, KnativeNotInstalledError, isUnknownResource } from '../../src/deploy/errors.js';
import { KnativeApi, parseConflicts } from '../../src/deploy/knative-api.js';
import {
  backoffDelay,
  DEFAULT_RETRY,
  isTransientNetworkError,
  KubeHttp,
} from '../../src/deploy/kube-http.js';

// Bodies as kube-apiserver v1.37 writes them.
const forbidden = JSON.stringify({
  kind: 'Status',
  apiVersion: 'v1',
  status: 'Failure',
  message:
    'services.serving.knative.dev "hello" is forbidden: User "system:serviceaccount:faas-test:faas-deploy" cannot delete resource "services" in API group "serving.knative.dev" in the namespace "faas-test"',
  reason: 'Forbidden',
  details: { name: 'hello', group: 'serving.knative.dev', kind: 'services' },
  code: 403,
});
const objectMissing = JSON.stringify({
  kind: 'Status',
  status: 'Failure',
  message: 'services.serving.knative.dev "hello" not found',
  reason: 'NotFound',
  details: { name: 'hello', group: 'serving.knative.dev', kind: 'services' },
  code: 404,
});
const typeMissing = JSON.stringify({
  kind: 'Status',
  status: 'Failure',
  message: 'the server could not find the requested resource',
  reason: 'NotFound',
  details: {},
  code: 404,
});
const conflict = JSON.stringify({
  kind: 'Status',
  status: 'Failure',
  message:
    'Apply failed with 1 conflict: conflict with "kubectl-edit" using serving.knative.dev/v1: .spec.template.spec.containers[name="function"].image',
  reason: 'Conflict',
  details: {
    causes: [
      {
        reason: 'FieldManagerConflict',
        message: 'conflict with "kubectl-edit" using serving.knative.dev/v1',
        field: '.spec.template.spec.containers[name="function"].image',
      },
    ],
  },
  code: 409,
});

describe('API errors a user can act on', () => {
  it('403 names verb, resource, namespace, user and docs/rbac.yaml', () => {
    const error = new ForbiddenError(
      { verb: 'delete', resource: 'services.serving.knative.dev', namespace: 'faas-test' },
      forbidden,
    );
    expect(error.message).toMatch(
      /^Kubernetes refused to delete services\.serving\.knative\.dev in namespace "faas-test" for system:serviceaccount:faas-test:faas-deploy \(403 Forbidden\)\. The identity in the kubeconfig needs the Role in docs\/rbac\.yaml/,
    );
    expect([error.verb, error.resource, error.namespace]).toEqual([
      'delete',
      'services.serving.knative.dev',
      'faas-test',
    ]);
  });

  it('403 without a server message falls back to what the request was', () => {
    const error = new ForbiddenError(
      { verb: 'watch', resource: 'services.serving.knative.dev', namespace: 'x' },
      'forbidden',
    );
    expect(error.message).toMatch(
      /^Kubernetes refused to watch services\.serving\.knative\.dev in namespace "x" \(403/,
    );
  });

  it('tells "no such object" from "no such resource type" on a 404', () => {
    expect(isUnknownResource(404, objectMissing)).toBe(false);
    expect(isUnknownResource(404, typeMissing)).toBe(true);
    expect(isUnknownResource(404, '404 page not found')).toBe(true);
    expect(isUnknownResource(403, typeMissing)).toBe(false);
  });

  it('maps a missing Knative group to "Knative Serving is not installed"', () => {
    const api = new KnativeApi({
      http: new KubeHttp({ server: 'https://k8s.example:6443', authenticate: async () => {} }),
      namespace: 'n',
    });
    const error = api.error(
      { verb: 'patch', resource: 'services.serving.knative.dev', namespace: 'n' },
      { status: 404, body: typeMissing },
    );
    expect(error).toBeInstanceOf(KnativeNotInstalledError);
    expect(error.message).toMatch(
      /^Knative Serving is not installed in the cluster at https:\/\/k8s\.example:6443/,
    );
  });

  it('parses server-side apply conflicts into manager and field', () => {
    expect(parseConflicts(conflict)).toEqual([
      { manager: 'kubectl-edit', field: '.spec.template.spec.containers[name="function"].image' },
    ]);
    expect(parseConflicts('not json')).toEqual([]);
  });
});

describe('backoff', () => {
  it('grows exponentially with jitter, capped, and follows Retry-After', () => {
    for (let i = 0; i < 50; i++) {
      const d1 = backoffDelay(DEFAULT_RETRY, 1);
      expect(d1).toBeGreaterThanOrEqual(125);
      expect(d1).toBeLessThanOrEqual(250);
      const d9 = backoffDelay(DEFAULT_RETRY, 9);
      expect(d9).toBeGreaterThanOrEqual(2000);
      expect(d9).toBeLessThanOrEqual(4000);
    }
    expect(backoffDelay(DEFAULT_RETRY, 1, '2')).toBe(2000);
    expect(backoffDelay(DEFAULT_RETRY, 1, '600')).toBe(10_000);
  });

  it('treats resets and refused connections as transient, not TLS or DNS-name errors', () => {
    expect(isTransientNetworkError(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))).toBe(
      true,
    );
    expect(isTransientNetworkError(new Error('socket hang up'))).toBe(true);
    expect(
      isTransientNetworkError(
        Object.assign(new Error('self-signed'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }),
      ),
    ).toBe(false);
    expect(isTransientNetworkError(Object.assign(new Error('nope'), { code: 'ENOTFOUND' }))).toBe(false);
  });
});

describe('KubeHttp retries against a server that fails first', () => {
  let server: http.Server;
  let base: string;
  const plan: Array<{ status: number; headers?: Record<string, string> } | 'reset'> = [];
  const seen: string[] = [];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      seen.push(`${req.method ?? ''} ${req.url ?? ''}`);
      const next = plan.shift() ?? { status: 200 };
      if (next === 'reset') {
        req.socket.destroy();
        return;
      }
      res.writeHead(next.status, { 'Content-Type': 'application/json', ...next.headers });
      res.end(JSON.stringify({ kind: 'Status', code: next.status }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.close();
  });

  const client = (): KubeHttp =>
    new KubeHttp({ server: base, authenticate: async () => {}, retry: { baseDelayMs: 5, maxDelayMs: 20 } });

  it('retries an idempotent request through 503, 429 (Retry-After) and a reset', async () => {
    plan.length = 0;
    seen.length = 0;
    plan.push({ status: 503 }, { status: 429, headers: { 'Retry-After': '0' } }, 'reset', { status: 200 });
    const kube = client();
    const res = await kube.request({ method: 'GET', path: '/apis/x', idempotent: true });
    expect(res.status).toBe(200);
    expect(seen).toHaveLength(4);
    expect(kube.retries).toBe(3);
    kube.close();
  });

  it('sends a non-idempotent request once', async () => {
    plan.length = 0;
    seen.length = 0;
    plan.push({ status: 503 });
    const kube = client();
    const res = await kube.request({ method: 'POST', path: '/api/v1/x', body: '{}', idempotent: false });
    expect(res.status).toBe(503);
    expect(seen).toEqual(['POST /api/v1/x']);
    kube.close();
  });

  it('gives up after the configured attempts and answers the last status', async () => {
    plan.length = 0;
    seen.length = 0;
    plan.push({ status: 500 }, { status: 500 }, { status: 500 }, { status: 500 }, { status: 500 });
    const kube = client();
    expect((await kube.request({ method: 'DELETE', path: '/x', idempotent: true })).status).toBe(500);
    expect(seen).toHaveLength(5);
    kube.close();
  });

  it('does not retry what will not change (403)', async () => {
    plan.length = 0;
    seen.length = 0;
    plan.push({ status: 403 });
    const kube = client();
    expect((await kube.request({ method: 'GET', path: '/x', idempotent: true })).status).toBe(403);
    expect(seen).toHaveLength(1);
    kube.close();
  });
});
