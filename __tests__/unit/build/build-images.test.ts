// The build stage's own logic: an existing tag skips the build, registry trouble fails only that
// function, at most `concurrency` builds run at once, the builder is always closed. The registry is a
// small distribution-API server on 127.0.0.1; the Builder is the stage's seam, recorded here.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImages, registryCredentials, type BuildSettings } from '../../../src/build/index.js';
import type { BuildLog } from '../../../src/build/log.js';
import type { BuildControls, BuildRequest, BuildResult, Builder } from '../../../src/build/types.js';
import { UserError } from '../../../src/util/errors.js';

const digest = `sha256:${'cd'.repeat(32)}`;
let server: Server;
let registry = '';

beforeAll(async () => {
  server = createServer((req, res) => {
    const m = /^\/v2\/(.+)\/manifests\/(.+)$/.exec(req.url ?? '');
    if (m?.[1] === 'locked') {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="r"' });
    } else if (m?.[2]?.startsWith('present')) {
      res.writeHead(200, { 'Docker-Content-Digest': digest });
    } else res.writeHead(404);
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  registry = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
});

const quietLog: BuildLog = {
  info: () => undefined,
  warning: () => undefined,
  group: () => undefined,
  secret: () => undefined,
};

function settings(overrides: Partial<BuildSettings> = {}): BuildSettings {
  return {
    builder: 'kaniko',
    registry,
    registryUsername: '',
    registryPassword: '',
    kanikoImage: 'kaniko:test',
    concurrency: 2,
    namespace: 'default',
    tektonServiceAccount: '',
    registrySecret: '',
    ...overrides,
  };
}

function req(name: string, tag: string): BuildRequest {
  return {
    name,
    image: `${registry}/${name}:${tag}`,
    tag,
    entries: [],
    dockerfile: 'FROM scratch\n',
    dockerfilePath: 'Dockerfile',
  };
}

class CountingBuilder implements Builder {
  readonly kind = 'kaniko' as const;
  built: string[] = [];
  inFlight = 0;
  maxInFlight = 0;
  closed = 0;
  async build(request: BuildRequest, context: BuildControls): Promise<BuildResult> {
    expect(context.signal).toBeInstanceOf(AbortSignal);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    await new Promise((r) => setTimeout(r, 30));
    this.inFlight--;
    this.built.push(request.name);
    if (request.name === 'broken')
      return { status: 'failed', reason: 'step failed', logTail: 'tail', seconds: 0 };
    return { status: 'built', image: `${registry}/${request.name}@${digest}`, digest, seconds: 0 };
  }
  close(): Promise<void> {
    this.closed++;
    return Promise.resolve();
  }
}

describe('buildImages', () => {
  it('skips what the registry has (its digest), builds the rest, and a failure stays that function’s', async () => {
    const builder = new CountingBuilder();
    const results = await buildImages(
      [req('a', 'present-1'), req('b', 'new-1'), req('locked', 'x'), req('broken', 'new-2')],
      settings(),
      { builder, log: quietLog },
    );
    expect(builder.built.sort()).toEqual(['b', 'broken']);
    expect(results.get('a')).toMatchObject({ status: 'skipped', digest, image: `${registry}/a@${digest}` });
    expect(results.get('b')).toMatchObject({ status: 'built', digest });
    expect(results.get('locked')).toMatchObject({
      status: 'failed',
      reason: expect.stringMatching(
        /^Registry 127\.0\.0\.1:\d+ needs credentials .* The image was not built\.$/,
      ) as unknown,
    });
    expect(results.get('broken')).toMatchObject({ status: 'failed', reason: 'step failed', logTail: 'tail' });
    expect(builder.closed).toBe(1);
  });

  it('runs at most `concurrency` builds at once', async () => {
    const builder = new CountingBuilder();
    const requests = Array.from({ length: 7 }, (_, i) => req(`fn${i}`, `new-${i}`));
    await buildImages(requests, settings({ concurrency: 3 }), { builder, log: quietLog });
    expect(builder.built).toHaveLength(7);
    expect(builder.maxInFlight).toBe(3);
  });

  it('a cancelled run starts nothing; an empty registry input is the user’s error', async () => {
    const builder = new CountingBuilder();
    const controller = new AbortController();
    controller.abort();
    const results = await buildImages([req('a', 'new')], settings(), {
      builder,
      log: quietLog,
      signal: controller.signal,
    });
    expect(results.get('a')).toMatchObject({
      status: 'failed',
      reason: 'Build cancelled before it started.',
    });
    expect(builder.built).toEqual([]);
    await expect(
      buildImages([req('a', 'x')], settings({ registry: '' }), { builder, log: quietLog }),
    ).rejects.toThrow(UserError);
  });

  it('masks the registry password and keys credentials by the registry host', async () => {
    const secrets: string[] = [];
    await buildImages([], settings({ registryUsername: 'u', registryPassword: 'p4ss' }), {
      builder: new CountingBuilder(),
      log: {
        ...quietLog,
        secret: (v) => {
          secrets.push(v);
        },
      },
    });
    expect(secrets).toEqual(['p4ss']);
    expect(
      registryCredentials(
        settings({ registry: 'ghcr.io/octo', registryUsername: 'u', registryPassword: 'p' }),
      ),
    ).toEqual({
      'ghcr.io': { username: 'u', password: 'p' },
    });
    expect(registryCredentials(settings({ registryUsername: 'u' }))).toEqual({});
  });
});
