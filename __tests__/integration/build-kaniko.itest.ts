// The build stage with builder kaniko, for real: the environment's Docker engine runs the kaniko
// executor image, which pushes to the basic-auth registry (127.0.0.1:5001) with the credentials the
// stage writes; the pushed image runs and answers; a second run over the same content builds nothing
// (no executor container, asserted from the engine's events); failures are that function's only.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImages, RegistryClient, type BuildSettings } from '../../src/build/index.js';
import { LABEL_RUN } from '../../src/build/kaniko.js';
import type { BuildRequest, BuildResult } from '../../src/build/types.js';
import {
  Docker,
  freePort,
  packaged,
  post,
  RecordingLog,
  secretForms,
  startFunction,
  testEnv,
  Workspace,
  type BaseImageEnv,
} from './build-support.js';

const need = testEnv();
const authRegistry = need('REGISTRY_AUTH');
const user = need('REGISTRY_AUTH_USER');
const password = need('REGISTRY_AUTH_PASSWORD');
const images: BaseImageEnv = {
  goBuilder: need('IMAGE_GO_BUILDER'),
  runtime: need('IMAGE_RUNTIME'),
  classicWatchdog: need('IMAGE_CLASSIC_WATCHDOG'),
};
const suffix = randomBytes(4).toString('hex');
// A registry prefix of its own, so the layer cache (<registry>/cache) starts empty for this file.
const registry = `${authRegistry}/b6-kaniko-${suffix}`;
const containers: string[] = [];
const logs: RecordingLog[] = [];
const outputs: unknown[] = [];

let ws: Workspace;
let docker: Docker;
let dockerConfig = '';
let echo: BuildRequest;

function settings(runId: string, overrides: Partial<BuildSettings> = {}): BuildSettings {
  return {
    builder: 'kaniko',
    registry,
    registryUsername: user,
    registryPassword: password,
    kanikoImage: need('IMAGE_KANIKO'),
    concurrency: 4,
    namespace: 'unused',
    tektonServiceAccount: '',
    registrySecret: '',
    dockerEnv: docker.env,
    runId,
    ...overrides,
  };
}

async function stage(
  requests: BuildRequest[],
  s: BuildSettings,
  signal?: AbortSignal,
): Promise<Map<string, BuildResult>> {
  const log = new RecordingLog();
  logs.push(log);
  const results = await buildImages(requests, s, { log, ...(signal ? { signal } : {}) });
  outputs.push(Object.fromEntries(results));
  return results;
}

beforeAll(async () => {
  ws = await Workspace.create();
  dockerConfig = await mkdtemp(path.join(tmpdir(), 'faas-build-itest-docker-'));
  docker = new Docker(need('DOCKER_HOST'), dockerConfig);
  echo = await packaged(ws.root, await ws.copyExample('echo', 'echo'), 'echo', registry, images);
});

afterAll(async () => {
  for (const name of containers) await docker.run(['rm', '-f', name], { allowFail: true });
  await ws.remove();
  await rm(dockerConfig, { recursive: true, force: true });
});

describe('builder kaniko', () => {
  let built: BuildResult | undefined;

  it('builds the echo function (Go, classic watchdog) and pushes it to the auth registry; the image answers a POST', async () => {
    const runId = `b6-${suffix}-1`;
    const t0 = Date.now() / 1000;
    const results = await stage([echo], settings(runId));
    built = results.get('echo');
    expect(built, JSON.stringify(built)).toMatchObject({ status: 'built' });
    if (built?.status !== 'built') return;
    expect(built.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(built.image).toBe(`${registry}/echo@${built.digest}`);
    // One executor container ran for it, labelled with the run.
    expect(await docker.events(`${LABEL_RUN}=${runId}`, t0, Date.now() / 1000 + 1)).toHaveLength(1);
    // The registry has the tag, with that digest.
    const client = new RegistryClient({ credentials: { [authRegistry]: { username: user, password } } });
    expect(await client.manifestDigest(echo.image)).toBe(built.digest);
    // The log group carries kaniko's output.
    expect(logs.at(-1)?.text()).toMatch(/::group::kaniko: echo → .*\(exit 0\)[\s\S]*Pushing image to/);

    await docker.run(['login', '--username', user, '--password-stdin', authRegistry], { input: password });
    const url = await startFunction(docker, built.image, containers);
    const body = `{"hello":"${suffix}"}`;
    expect(await post(url, body)).toEqual({ status: 200, text: body });
  }, 600_000);

  it('a second run over the same content builds nothing: no executor container, 10 unchanged functions in under 2 s', async () => {
    // Ten small functions (their own Dockerfile), built once, concurrently.
    const small: BuildRequest[] = [];
    for (let i = 0; i < 10; i++) {
      const dir = await ws.write(`functions/small-${i}`, {
        Dockerfile: `ARG RUNTIME_IMAGE=${images.runtime}\nFROM \${RUNTIME_IMAGE}\nCOPY hello.txt /hello.txt\n`,
        'hello.txt': `hello ${i} ${suffix}\n`,
      });
      small.push(await packaged(ws.root, dir, `small-${i}`, registry, images, 'dockerfile'));
    }
    const first = await stage(small, settings(`b6-${suffix}-2`));
    expect([...first.values()].map((r) => r.status)).toEqual(Array(10).fill('built'));
    // --reproducible (the default): the same content built again elsewhere gives the same digest.
    const elsewhere = {
      ...small[0],
      image: small[0]?.image.replace(registry, `${registry}-again`),
    } as BuildRequest;
    const again = await stage([elsewhere], settings(`b6-${suffix}-2b`, { registry: `${registry}-again` }));
    const firstDigest = first.get('small-0');
    expect(again.get('small-0')).toMatchObject({
      status: 'built',
      digest: firstDigest?.status === 'built' ? firstDigest.digest : '?',
    });

    const runId = `b6-${suffix}-3`;
    const t0 = Date.now();
    const second = await stage([echo, ...small.slice(0, 9)], settings(runId));
    const elapsed = Date.now() - t0;
    const echoAgain = second.get('echo');
    expect(echoAgain).toMatchObject({
      status: 'skipped',
      digest: built?.status === 'built' ? built.digest : '?',
    });
    for (const [name, result] of second) {
      const before = name === 'echo' ? built : first.get(name);
      expect(result, name).toMatchObject({ status: 'skipped' });
      expect(
        result.status === 'skipped' && before?.status === 'built' && result.digest === before.digest,
        name,
      ).toBe(true);
    }
    expect(elapsed).toBeLessThan(2000);
    expect(await docker.events(`${LABEL_RUN}=${runId}`, t0 / 1000 - 1, Date.now() / 1000 + 1)).toEqual([]);
    console.log(`skip path: 10 unchanged functions in ${elapsed} ms`);
  }, 600_000);

  it('a failing Dockerfile step fails that function with kaniko’s message and the log tail; the others carry on', async () => {
    const dir = await ws.write('functions/broken', {
      'go.mod': 'module example.com/broken\n\ngo 1.22\n',
      'main.go': 'package main\n\nthis is not go\n',
    });
    const broken = await packaged(ws.root, dir, 'broken', registry, images);
    const results = await stage([broken, echo], settings(`b6-${suffix}-4`));
    expect(results.get('echo')).toMatchObject({ status: 'skipped' });
    const failed = results.get('broken');
    expect(failed?.status).toBe('failed');
    if (failed?.status !== 'failed') return;
    expect(failed.reason).toMatch(/^kaniko failed \(exit 1\): error building image: .*exit status 1/);
    expect(failed.logTail).toMatch(/main\.go:3:1: syntax error/);
    expect(failed.logTail.split('\n').length).toBeLessThanOrEqual(30);
  }, 600_000);

  it('registry rejects the credentials / is unreachable / executor image missing: clear reasons, no build', async () => {
    const wrong = await stage([echo], settings(`b6-${suffix}-5`, { registryPassword: 'not-the-password' }));
    expect(wrong.get('echo')).toMatchObject({
      status: 'failed',
      reason: expect.stringMatching(
        new RegExp(`^Registry ${authRegistry} rejected the credentials of "${user}"`),
      ) as unknown,
    });

    const port = await freePort();
    const nowhere = { ...echo, image: `127.0.0.1:${port}/echo:${echo.tag}` };
    const down = await stage([nowhere], settings(`b6-${suffix}-6`, { registry: `127.0.0.1:${port}` }));
    expect(down.get('echo')).toMatchObject({
      status: 'failed',
      reason: expect.stringMatching(
        new RegExp(
          `^Registry 127\\.0\\.0\\.1:${port} is unreachable at http://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`,
        ),
      ) as unknown,
    });

    const fresh = await packaged(
      ws.root,
      await ws.write('functions/fresh', {
        'go.mod': 'module x\n\ngo 1.22\n',
        'main.go': `package main\n\nfunc main() { println("${suffix}") }\n`,
      }),
      'fresh',
      registry,
      images,
    );
    const missingImage = `${need('REGISTRY')}/faas-base/no-such-kaniko:v0`;
    const noExecutor = await stage([fresh], settings(`b6-${suffix}-7`, { kanikoImage: missingImage }));
    expect(noExecutor.get('fresh')).toMatchObject({
      status: 'failed',
      reason: expect.stringContaining(
        `The Docker engine could not run the kaniko executor image "${missingImage}"`,
      ) as unknown,
    });
  }, 600_000);

  it('cancelling the run removes the kaniko container and reports the cancellation', async () => {
    const dir = await ws.write('functions/slow', {
      Dockerfile: `FROM ${images.runtime}\nRUN sleep 300\n`,
      'x.txt': suffix,
    });
    const slow = await packaged(ws.root, dir, 'slow', registry, images, 'dockerfile');
    const runId = `b6-${suffix}-8`;
    const controller = new AbortController();
    const pending = stage([slow], settings(runId), controller.signal);
    // Wait until kaniko runs the RUN step (its container exists), then cancel.
    const deadline = Date.now() + 120_000;
    for (;;) {
      const ps = await docker.run(['ps', '-q', '--filter', `label=${LABEL_RUN}=${runId}`]);
      if (ps.stdout.trim() !== '') break;
      if (Date.now() > deadline) throw new Error('the kaniko container never started');
      await new Promise((r) => setTimeout(r, 300));
    }
    await new Promise((r) => setTimeout(r, 3000));
    const t0 = Date.now();
    controller.abort();
    const result = (await pending).get('slow');
    expect(result).toMatchObject({
      status: 'failed',
      reason: 'Build cancelled; the kaniko container was removed.',
    });
    expect(Date.now() - t0).toBeLessThan(15_000);
    const left = await docker.run(['ps', '-aq', '--filter', `label=${LABEL_RUN}=${runId}`]);
    expect(left.stdout.trim()).toBe('');
  }, 600_000);

  it('no secret value appears in any log or output of these builds', () => {
    const text = [...logs.map((l) => l.text()), JSON.stringify(outputs)].join('\n');
    expect(text.length).toBeGreaterThan(1000);
    for (const secret of secretForms(user, password, authRegistry)) expect(text).not.toContain(secret);
    // …and the stage asked the runner to mask the password and the derived auth string.
    expect(logs[0]?.secrets).toEqual(
      expect.arrayContaining(secretForms(user, password, authRegistry).slice(0, 2)),
    );
  });
});
