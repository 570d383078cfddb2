// Bearer-token registry authentication (the WWW-Authenticate challenge GHCR and Docker Hub use),
// against a real registry: a third instance of the environment's docker-registry (distribution 2.8)
// configured with `auth: token` (realm, service, issuer, rootcertbundle), and a small token issuer
// on 127.0.0.1 that checks Basic credentials and signs RS256 JWTs with an x5c certificate the registry
// trusts. The registry client looks tags up through it; kaniko pushes through it.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID, sign, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImages, RegistryClient, RegistryError, type BuildSettings } from '../../src/build/index.js';
import {
  Docker,
  freePort,
  packaged,
  RecordingLog,
  run,
  secretForms,
  testEnv,
  Workspace,
} from './build-support.js';

const need = testEnv();
const USER = 'token-user';
const PASSWORD = `pw-${randomBytes(8).toString('hex')}`;
const SERVICE = 'faas-token-registry';
const ISSUER = 'faas-test-issuer';

let dir = '';
let registryProcess: ChildProcess | undefined;
let tokenServer: Server | undefined;
let host = '';
const tokenRequests: { scopes: string[]; user: string | undefined; granted: boolean }[] = [];
const logs: RecordingLog[] = [];

const b64url = (data: string | Buffer): string => Buffer.from(data).toString('base64url');

/** The issuer: Basic credentials in, an RS256 JWT granting the requested repository actions out. */
async function startTokenIssuer(keyPem: string, certPem: string): Promise<number> {
  const x5c = [new X509Certificate(certPem).raw.toString('base64')];
  tokenServer = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://issuer');
    const scopes = url.searchParams.getAll('scope');
    const basic = /^Basic (.+)$/.exec(req.headers['authorization'] ?? '')?.[1];
    const [user, pass] = basic ? Buffer.from(basic, 'base64').toString().split(/:(.*)/s) : [];
    const granted = user === USER && pass === PASSWORD && url.searchParams.get('service') === SERVICE;
    tokenRequests.push({ scopes, user, granted });
    if (!granted) {
      res.writeHead(401, { 'Content-Type': 'application/json' });
      res.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
      return;
    }
    const now = Math.floor(Date.now() / 1000);
    const access = scopes.map((scope) => {
      const [type, name, actions] = scope.split(':');
      return { type, name, actions: (actions ?? '').split(',').filter((a) => a !== '') };
    });
    // distribution 2.8 reads `aud` as one string.
    const claims = {
      iss: ISSUER,
      sub: user,
      aud: SERVICE,
      exp: now + 300,
      nbf: now - 10,
      iat: now,
      jti: randomUUID(),
      access,
    };
    const input = `${b64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', x5c }))}.${b64url(JSON.stringify(claims))}`;
    const token = `${input}.${b64url(sign('sha256', Buffer.from(input), keyPem))}`;
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(
      JSON.stringify({ token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() }),
    );
  });
  await new Promise<void>((resolve) => tokenServer?.listen(0, '127.0.0.1', resolve));
  return (tokenServer.address() as AddressInfo).port;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'faas-token-registry-'));
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  const made = await run('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=faas-test-issuer',
  ]); // prettier-ignore
  if (made.code !== 0) throw new Error(`openssl: ${made.stderr}`);
  const tokenPort = await startTokenIssuer(await readFile(key, 'utf8'), await readFile(cert, 'utf8'));
  const port = await freePort();
  host = `127.0.0.1:${port}`;
  const config = path.join(dir, 'registry.yml');
  await writeFile(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: warn',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${path.join(dir, 'data')}`,
      'http:',
      `  addr: ${host}`,
      'auth:',
      '  token:',
      `    realm: http://127.0.0.1:${tokenPort}/token`,
      `    service: ${SERVICE}`,
      `    issuer: ${ISSUER}`,
      `    rootcertbundle: ${cert}`,
      '',
    ].join('\n'),
  );
  const child = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  registryProcess = child;
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      const res = await fetch(`http://${host}/v2/`);
      if (res.status === 401) break;
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`token registry did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
});

afterAll(async () => {
  if (registryProcess?.pid !== undefined && registryProcess.exitCode === null) {
    const exited = new Promise((r) => registryProcess?.once('exit', r));
    process.kill(registryProcess.pid, 'SIGTERM');
    await exited;
  }
  const server = tokenServer;
  if (server) await new Promise((r) => server.close(r));
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('a registry with token authentication (docker-registry 2.8, auth: token)', () => {
  it('challenges with Bearer realm/service/scope, like GHCR', async () => {
    const res = await fetch(`http://${host}/v2/team/echo/manifests/x`, { method: 'HEAD' });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(
      new RegExp(
        `^Bearer realm="http://127\\.0\\.0\\.1:\\d+/token",service="${SERVICE}",scope="repository:team/echo:pull"`,
      ),
    );
  });

  it('kaniko pushes through the token flow; the client finds the tag with the same digest; a rerun skips', async () => {
    const ws = await Workspace.create();
    const dockerConfig = await mkdtemp(path.join(tmpdir(), 'faas-token-docker-'));
    try {
      const docker = new Docker(need('DOCKER_HOST'), dockerConfig);
      const images = {
        goBuilder: need('IMAGE_GO_BUILDER'),
        runtime: need('IMAGE_RUNTIME'),
        classicWatchdog: need('IMAGE_CLASSIC_WATCHDOG'),
      };
      const fnDir = await ws.write('functions/tokened', {
        Dockerfile: `ARG RUNTIME_IMAGE=${images.runtime}\nFROM \${RUNTIME_IMAGE}\nCOPY note.txt /note.txt\nRUN cp /note.txt /copied.txt\n`,
        'note.txt': `${randomUUID()}\n`,
      });
      const request = await packaged(ws.root, fnDir, 'tokened', `${host}/team`, images, 'dockerfile');
      const settings: BuildSettings = {
        builder: 'kaniko',
        registry: `${host}/team`,
        registryUsername: USER,
        registryPassword: PASSWORD,
        kanikoImage: need('IMAGE_KANIKO'),
        concurrency: 1,
        namespace: 'unused',
        tektonServiceAccount: '',
        registrySecret: '',
        dockerEnv: docker.env,
      };
      const log = new RecordingLog();
      logs.push(log);
      const first = (await buildImages([request], settings, { log })).get('tokened');
      expect(first, log.text()).toMatchObject({ status: 'built' });
      const digest = first?.status === 'built' ? first.digest : '';

      const client = new RegistryClient({ credentials: { [host]: { username: USER, password: PASSWORD } } });
      expect(await client.manifestDigest(request.image)).toBe(digest);
      expect(await client.manifestDigest(`${host}/team/tokened:absent`)).toBeUndefined();

      const again = (await buildImages([request], settings, { log })).get('tokened');
      expect(again).toMatchObject({ status: 'skipped', digest });

      // Our lookups asked for pull on the repository; kaniko asked for push too (destination and cache).
      expect(tokenRequests.some((t) => t.granted && t.scopes.includes('repository:team/tokened:pull'))).toBe(
        true,
      );
      expect(
        tokenRequests.some(
          (t) =>
            t.granted && t.scopes.some((s) => /^repository:team\/tokened:(push,pull|pull,push)$/.test(s)),
        ),
      ).toBe(true);
      expect(
        tokenRequests.some(
          (t) => t.granted && t.scopes.some((s) => s.startsWith('repository:team/build.cache:')),
        ),
      ).toBe(true);
      for (const secret of secretForms(USER, PASSWORD, host)) expect(log.text()).not.toContain(secret);
    } finally {
      await ws.remove();
      await rm(dockerConfig, { recursive: true, force: true });
    }
  }, 600_000);

  it('wrong credentials and no credentials are auth errors, from the token service', async () => {
    const wrong = new RegistryClient({ credentials: { [host]: { username: USER, password: 'wrong' } } });
    const error = await wrong.manifestDigest(`${host}/team/tokened:x`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryError);
    expect(error).toMatchObject({
      kind: 'auth',
      status: 401,
      message: expect.stringMatching(
        new RegExp(
          `^Registry ${host} rejected the credentials of "${USER}": its token service http://127\\.0\\.0\\.1:\\d+/token answered HTTP 401 for scope repository:team/tokened:pull\\.$`,
        ),
      ) as unknown,
    });
    await expect(new RegistryClient().manifestDigest(`${host}/team/tokened:x`)).rejects.toMatchObject({
      kind: 'auth',
      message: expect.stringMatching(/needs credentials: its token service answered HTTP 401/) as unknown,
    });
  });
});
