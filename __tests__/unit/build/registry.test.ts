// The registry client: challenge parsing, and the distribution API flows against small HTTP servers on
// 127.0.0.1 that answer the way GHCR (Bearer realm + token endpoint), htpasswd registries (Basic) and
// anonymous registries do. The real docker-registry with token auth is in the integration tests.
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  digestReference,
  isPlainHttp,
  parseImageReference,
  registryHost,
} from '../../../src/build/image-ref.js';
import {
  MANIFEST_ACCEPT,
  parseChallenges,
  RegistryClient,
  RegistryError,
} from '../../../src/build/registry.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

type Handler = (req: IncomingMessage, res: ServerResponse, host: string) => void;

async function serve(handler: Handler): Promise<{ host: string; requests: IncomingMessage[] }> {
  const requests: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    requests.push(req);
    handler(req, res, `127.0.0.1:${(server.address() as AddressInfo).port}`);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { host: `127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

const manifest = Buffer.from('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}');
const digest = `sha256:${createHash('sha256').update(manifest).digest('hex')}`;

describe('parseChallenges', () => {
  it('reads GHCR and Docker Hub Bearer challenges', () => {
    expect(
      parseChallenges(
        'Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:octo/echo:pull"',
      ),
    ).toEqual([
      {
        scheme: 'bearer',
        params: { realm: 'https://ghcr.io/token', service: 'ghcr.io', scope: 'repository:octo/echo:pull' },
      },
    ]);
    expect(
      parseChallenges(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull,push"',
      )[0]?.params['scope'],
    ).toBe('repository:library/busybox:pull,push');
  });

  it('reads Basic, several challenges, unquoted values and escapes', () => {
    expect(parseChallenges('Basic realm="Registry Realm"')).toEqual([
      { scheme: 'basic', params: { realm: 'Registry Realm' } },
    ]);
    expect(parseChallenges('Basic realm=x, Bearer realm="https://a/t", service=a')).toEqual([
      { scheme: 'basic', params: { realm: 'x' } },
      { scheme: 'bearer', params: { realm: 'https://a/t', service: 'a' } },
    ]);
    expect(parseChallenges('Bearer realm="a \\"b\\", c"')[0]?.params['realm']).toBe('a "b", c');
    expect(parseChallenges('')).toEqual([]);
  });
});

describe('image references', () => {
  it('splits registry, repository, tag and digest; Docker Hub names are normalised', () => {
    expect(parseImageReference('127.0.0.1:5001/echo:ctx-abc')).toEqual({
      registry: '127.0.0.1:5001',
      apiHost: '127.0.0.1:5001',
      repository: 'echo',
      tag: 'ctx-abc',
    });
    expect(parseImageReference('ghcr.io/octo/team/echo:ctx-1')).toMatchObject({
      registry: 'ghcr.io',
      repository: 'octo/team/echo',
      tag: 'ctx-1',
    });
    expect(parseImageReference('busybox:1.37.0')).toMatchObject({
      registry: 'docker.io',
      apiHost: 'registry-1.docker.io',
      repository: 'library/busybox',
    });
    expect(parseImageReference(`localhost/x@${digest}`)).toMatchObject({
      registry: 'localhost',
      repository: 'x',
      digest,
    });
    expect(() => parseImageReference('Ghcr.io/UPPER/case:x')).toThrow(/not a valid image reference/);
  });

  it('decides the scheme and the digest reference', () => {
    expect(isPlainHttp('127.0.0.1:5000')).toBe(true);
    expect(isPlainHttp('localhost:5000')).toBe(true);
    expect(isPlainHttp('ghcr.io')).toBe(false);
    expect(isPlainHttp('registry.lan:5000', ['registry.lan:5000'])).toBe(true);
    expect(registryHost('ghcr.io/octo')).toBe('ghcr.io');
    expect(registryHost('octo')).toBe('docker.io');
    expect(digestReference('127.0.0.1:5001/team/echo:ctx-1', digest)).toBe(
      `127.0.0.1:5001/team/echo@${digest}`,
    );
  });
});

describe('RegistryClient', () => {
  it('anonymous: HEAD with every manifest media type; the digest header, or undefined on 404', async () => {
    const { host, requests } = await serve((req, res) => {
      if (req.url === '/v2/team/echo/manifests/ctx-1') {
        res.writeHead(200, { 'Docker-Content-Digest': digest, 'Content-Type': 'application/json' });
      } else res.writeHead(404, { 'Content-Type': 'application/json' });
      res.end(req.method === 'HEAD' ? undefined : '{"errors":[{"code":"MANIFEST_UNKNOWN"}]}');
    });
    const client = new RegistryClient();
    expect(await client.manifestDigest(`${host}/team/echo:ctx-1`)).toBe(digest);
    expect(await client.manifestDigest(`${host}/team/echo:ctx-2`)).toBeUndefined();
    expect(requests[0]?.method).toBe('HEAD');
    expect(requests[0]?.headers['accept']).toBe(MANIFEST_ACCEPT);
    expect(requests[0]?.headers['authorization']).toBeUndefined();
  });

  it('hashes the manifest when a registry leaves Docker-Content-Digest out', async () => {
    const { host } = await serve((req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' });
      res.end(req.method === 'HEAD' ? undefined : manifest);
    });
    expect(await new RegistryClient().manifestDigest(`${host}/echo:t`)).toBe(digest);
  });

  /** A GHCR look-alike: Bearer challenge, token endpoint with Basic credentials, tokens checked. */
  async function ghcrLike(password: string) {
    const issued: string[] = [];
    const tokenRequests: URL[] = [];
    const state = await serve((req, res, host) => {
      const url = new URL(req.url ?? '/', `http://${host}`);
      if (url.pathname === '/token') {
        tokenRequests.push(url);
        const basic = `Basic ${Buffer.from(`octo:${password}`).toString('base64')}`;
        if (req.headers['authorization'] !== basic) {
          res.writeHead(401, { 'Content-Type': 'application/json' });
          res.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
          return;
        }
        const token = `tok-${issued.length}`;
        issued.push(token);
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ token, expires_in: 300 }));
        return;
      }
      const auth = req.headers['authorization'] ?? '';
      if (!issued.some((t) => auth === `Bearer ${t}`)) {
        const repo = url.pathname.split('/manifests/')[0]?.replace('/v2/', '');
        res.writeHead(401, {
          'WWW-Authenticate': `Bearer realm="http://${host}/token",service="ghcr.test",scope="repository:${repo}:pull"`,
        });
        res.end();
        return;
      }
      if (url.pathname.endsWith('/manifests/present')) {
        res.writeHead(200, { 'Docker-Content-Digest': digest });
      } else res.writeHead(404);
      res.end();
    });
    return { ...state, tokenRequests };
  }

  it('Bearer: answers the challenge at the token realm with scope repository:<name>:pull, reuses the token', async () => {
    const { host, tokenRequests, requests } = await ghcrLike('s3cret');
    const client = new RegistryClient({ credentials: { [host]: { username: 'octo', password: 's3cret' } } });
    expect(await client.manifestDigest(`${host}/octo/echo:present`)).toBe(digest);
    expect(await client.manifestDigest(`${host}/octo/echo:absent`)).toBeUndefined();
    expect(tokenRequests).toHaveLength(1);
    expect(tokenRequests[0]?.searchParams.get('scope')).toBe('repository:octo/echo:pull');
    expect(tokenRequests[0]?.searchParams.get('service')).toBe('ghcr.test');
    const manifestCalls = requests.filter((r) => r.url?.startsWith('/v2/'));
    // 401, then with the token; the second lookup goes straight in with the cached token.
    expect(manifestCalls.map((r) => r.headers['authorization'] ?? 'none')).toEqual([
      'none',
      'Bearer tok-0',
      'Bearer tok-0',
    ]);
  });

  it('Bearer: wrong credentials are an auth error that names the user, never the password', async () => {
    const { host } = await ghcrLike('right');
    const client = new RegistryClient({
      credentials: { [host]: { username: 'octo', password: 'wrong-pw' } },
    });
    const error = await client.manifestDigest(`${host}/octo/echo:present`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryError);
    expect((error as RegistryError).kind).toBe('auth');
    expect((error as RegistryError).message).toMatch(/rejected the credentials of "octo".*HTTP 401/);
    expect((error as RegistryError).message).not.toContain('wrong-pw');
  });

  it('Basic: retries with the credentials after a Basic challenge; refused credentials are an auth error', async () => {
    const basic = `Basic ${Buffer.from('faas:pw').toString('base64')}`;
    const { host, requests } = await serve((req, res) => {
      if (req.headers['authorization'] !== basic) {
        res.writeHead(401, {
          'WWW-Authenticate': 'Basic realm="Registry Realm"',
          'Content-Type': 'application/json',
        });
        res.end(req.method === 'HEAD' ? undefined : '{"errors":[{"code":"UNAUTHORIZED"}]}');
        return;
      }
      res.writeHead(200, { 'Docker-Content-Digest': digest });
      res.end();
    });
    const good = new RegistryClient({ credentials: { [host]: { username: 'faas', password: 'pw' } } });
    expect(await good.manifestDigest(`${host}/echo:x`)).toBe(digest);
    expect(await good.manifestDigest(`${host}/other:y`)).toBe(digest);
    expect(requests.map((r) => r.headers['authorization'] ?? 'none')).toEqual(['none', basic, basic]);

    const bad = new RegistryClient({ credentials: { [host]: { username: 'faas', password: 'nope' } } });
    await expect(bad.manifestDigest(`${host}/echo:x`)).rejects.toMatchObject({
      kind: 'auth',
      status: 401,
      message: expect.stringMatching(/rejected the credentials of "faas"/) as unknown,
    });
    const anonymous = new RegistryClient();
    await expect(anonymous.manifestDigest(`${host}/echo:x`)).rejects.toMatchObject({
      kind: 'auth',
      message: expect.stringMatching(/needs credentials/) as unknown,
    });
  });

  it('never sends one registry’s credentials to another registry', async () => {
    const other = await serve((_req, res) => {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="x"' });
      res.end();
    });
    const client = new RegistryClient({ credentials: { '127.0.0.1:1': { username: 'a', password: 'b' } } });
    await expect(client.manifestDigest(`${other.host}/echo:x`)).rejects.toMatchObject({ kind: 'auth' });
    expect(other.requests.every((r) => r.headers['authorization'] === undefined)).toBe(true);
  });

  it('an unreachable registry is an "unreachable" error naming the address', async () => {
    const { host } = await serve((_req, res) => res.end());
    await new Promise((r) => servers.pop()?.close(r));
    const error = await new RegistryClient().manifestDigest(`${host}/echo:x`).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'unreachable' });
    expect((error as Error).message).toContain(`Registry ${host} is unreachable at http://${host}`);
    expect((error as Error).message).toMatch(/ECONNREFUSED/);
  });

  it('a registry that does not answer in time is "unreachable" too', async () => {
    const { host } = await serve(() => undefined);
    const error = await new RegistryClient({ timeoutMs: 300 })
      .manifestDigest(`${host}/echo:x`)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({
      kind: 'unreachable',
      message: expect.stringMatching(/did not answer within/) as unknown,
    });
  });
});
