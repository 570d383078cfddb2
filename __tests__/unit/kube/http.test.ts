// The Kubernetes HTTP client: backoff, what counts as transient, the retry policy against a local
// HTTP server that fails on purpose (the real API server cannot be made to answer 503/429 on demand;
// the integration tests cover resets), and credentials handed to masking before a request leaves.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backoffDelay, DEFAULT_RETRY, isTransientNetworkError, KubeHttp } from '../../../src/kube/http.js';

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

describe('credentials from the authenticator', () => {
  it('are handed to onCredential before the request is sent: the bearer token, basic auth', async () => {
    const events: string[] = [];
    const server = http.createServer((req, res) => {
      events.push(`request ${req.headers.authorization ?? ''}`);
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      let n = 0;
      const kube = new KubeHttp({
        server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        // An exec plugin's token, rotated between requests.
        authenticate: (options) => {
          n++;
          const headers = (options.headers ?? {}) as Record<string, string>;
          headers['Authorization'] = `Bearer exec-token-${n}`;
          options.headers = headers;
          if (n === 2) options.auth = 'user:pa55word';
          return Promise.resolve();
        },
        onCredential: (value) => events.push(`secret ${value}`),
      });
      await kube.request({ method: 'GET', path: '/a', idempotent: true });
      await kube.request({ method: 'GET', path: '/b', idempotent: true });
      kube.close();
      expect(events).toEqual([
        'secret exec-token-1',
        'request Bearer exec-token-1',
        'secret exec-token-2',
        'secret user:pa55word',
        'request Bearer exec-token-2',
      ]);
    } finally {
      server.close();
    }
  });
});
