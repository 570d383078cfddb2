// The build stage with builder tekton, for real, as the least-privilege deployer identity (docs/rbac.yaml):
// the context goes into ConfigMaps, a TaskRun runs kaniko (the Tekton stand-in runs its steps with the
// Docker engine), the image is pushed to the basic-auth registry, the action follows the TaskRun by watch
// and deletes what it created. The API server's own watch (admin) records every TaskRun the builds make.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  V1ObjectMeta,
  Watch,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { load } from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImages, type BuildSettings, type StepLogReader } from '../../src/build/index.js';
import { CONTEXT_PART_BYTES, MAX_CONTEXT_PARTS } from '../../src/build/tekton-task.js';
import type { BuildRequest, BuildResult } from '../../src/build/types.js';
import { connectKube, type KubeConnection } from '../../src/kube/index.js';
import {
  Docker,
  packaged,
  post,
  RecordingLog,
  repoRoot,
  secretForms,
  startFunction,
  testEnv,
  Workspace,
  type BaseImageEnv,
} from './build-support.js';

const need = testEnv();
const ns = need('KUBE_NAMESPACE');
const authRegistry = need('REGISTRY_AUTH');
const user = need('REGISTRY_AUTH_USER');
const password = need('REGISTRY_AUTH_PASSWORD');
const images: BaseImageEnv = {
  goBuilder: need('IMAGE_GO_BUILDER'),
  runtime: need('IMAGE_RUNTIME'),
  classicWatchdog: need('IMAGE_CLASSIC_WATCHDOG'),
};
const suffix = randomBytes(3).toString('hex');
const registry = `${authRegistry}/b6-tekton-${suffix}`;

/** client-node's models are classes; build metadata as one. */
const meta = (fields: Partial<V1ObjectMeta>): V1ObjectMeta => Object.assign(new V1ObjectMeta(), fields);

function kubeConfig(file: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(file);
  return kc;
}
const admin = kubeConfig(need('KUBECONFIG_ADMIN'));
const adminObjects = KubernetesObjectApi.makeApiClient(admin);
const deployerFile = need('KUBECONFIG_DEPLOYER');
const deployerCore = kubeConfig(deployerFile).makeApiClient(CoreV1Api);

/** Step logs as the stand-in keeps them (there are no pods): ConfigMap <taskrun>-standin-logs, read as the deployer. */
const standinLogs: StepLogReader = async (taskRun, container, tailLines) => {
  const cm = await deployerCore
    .readNamespacedConfigMap({ name: `${taskRun.name}-standin-logs`, namespace: taskRun.namespace })
    .catch(() => undefined);
  const text = cm?.data?.[container];
  return text === undefined
    ? undefined
    : text
        .split('\n')
        .slice(-tailLines - 1)
        .join('\n');
};

interface Seen {
  type: string;
  name: string;
  fn: string;
  object: KubernetesObject & {
    spec?: unknown;
    status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] };
  };
}

/** Every TaskRun event faas-deploy's builds cause in the namespace, as the API server reports them. */
class TaskRunRecorder {
  readonly events: Seen[] = [];
  private controller: AbortController | undefined;
  private stopped = false;
  async start(): Promise<void> {
    const list = await adminObjects.list('tekton.dev/v1', 'TaskRun', ns);
    let version = list.metadata?.resourceVersion;
    const loop = async (): Promise<void> => {
      while (!this.stopped) {
        await new Promise<void>((resolve) => {
          void new Watch(admin)
            .watch(
              `/apis/tekton.dev/v1/namespaces/${ns}/taskruns`,
              {
                labelSelector: 'app.kubernetes.io/managed-by=faas-deploy',
                resourceVersion: version,
                timeoutSeconds: 20,
                allowWatchBookmarks: true,
              },
              (type: string, object: Seen['object']) => {
                if (object.metadata?.resourceVersion) version = object.metadata.resourceVersion;
                if (type === 'BOOKMARK' || type === 'ERROR') return;
                this.events.push({
                  type,
                  name: object.metadata?.name ?? '',
                  fn: object.metadata?.labels?.['faas-deploy.dev/function'] ?? '',
                  object,
                });
              },
              () => {
                resolve();
              },
            )
            .then((c) => {
              this.controller = c;
            });
        });
      }
    };
    void loop();
  }
  stop(): void {
    this.stopped = true;
    this.controller?.abort();
  }
  added(fns: string[]): Seen[] {
    return this.events.filter((e) => e.type === 'ADDED' && fns.includes(e.fn));
  }
}

const recorder = new TaskRunRecorder();
const containers: string[] = [];
const logs: RecordingLog[] = [];
const outputs: unknown[] = [];
let ws: Workspace;
let docker: Docker;
let dockerConfig = '';
let kubeTemp = '';
let kube: KubeConnection;
const runId = `itest-${suffix}`;
const fnName = (base: string): string => `${base}-${suffix}`;

function settings(overrides: Partial<BuildSettings> = {}): BuildSettings {
  return {
    builder: 'tekton',
    registry,
    registryUsername: user,
    registryPassword: password,
    kanikoImage: need('IMAGE_KANIKO'),
    concurrency: 4,
    namespace: ns,
    tektonServiceAccount: '',
    registrySecret: '',
    kube,
    runId,
    toolsImage: images.runtime,
    stepLogs: standinLogs,
    timeoutSeconds: 600,
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

/** What a build left in the namespace: TaskRuns, ConfigMaps, Secrets labelled with the function. */
async function leftovers(fn: string): Promise<string[]> {
  const found: string[] = [];
  for (const [apiVersion, kind] of [
    ['tekton.dev/v1', 'TaskRun'],
    ['v1', 'ConfigMap'],
    ['v1', 'Secret'],
  ] as const) {
    const list = await adminObjects.list(
      apiVersion,
      kind,
      ns,
      undefined,
      undefined,
      undefined,
      undefined,
      `faas-deploy.dev/function=${fn}`,
    );
    found.push(...list.items.map((i) => `${kind}/${i.metadata?.name ?? ''}`));
  }
  return found;
}

beforeAll(async () => {
  ws = await Workspace.create();
  dockerConfig = await mkdtemp(path.join(tmpdir(), 'faas-build-tekton-docker-'));
  docker = new Docker(need('DOCKER_HOST'), dockerConfig);
  await docker.run(['login', '--username', user, '--password-stdin', authRegistry], { input: password });
  kubeTemp = await mkdtemp(path.join(tmpdir(), 'faas-build-tekton-kube-'));
  // The one connection main opens, here with the deployer's kubeconfig as input `kubeconfig`.
  kube = await connectKube({
    kubeconfig: readFileSync(deployerFile, 'utf8'),
    tempDir: kubeTemp,
    secret: () => undefined,
  });
  await recorder.start();
});

afterAll(async () => {
  recorder.stop();
  await kube.close();
  await rm(kubeTemp, { recursive: true, force: true });
  for (const name of containers) await docker.run(['rm', '-f', name], { allowFail: true });
  await ws.remove();
  await rm(dockerConfig, { recursive: true, force: true });
});

describe('builder tekton (deployer identity)', () => {
  const echo = fnName('echo');
  let echoRequest: BuildRequest;
  let echoBuilt: BuildResult | undefined;

  it('builds the echo function in a TaskRun and pushes it with credentials; the image answers; nothing is left behind', async () => {
    echoRequest = await packaged(ws.root, await ws.copyExample('echo', echo), echo, registry, images);
    const results = await stage([echoRequest], settings());
    echoBuilt = results.get(echo);
    expect(echoBuilt, logs.at(-1)?.text()).toMatchObject({ status: 'built' });
    if (echoBuilt?.status !== 'built') return;
    expect(echoBuilt.image).toBe(`${registry}/${echo}@${echoBuilt.digest}`);
    expect(logs.at(-1)?.text()).toMatch(
      /::group::tekton: .*\(TaskRun faas-test\/echo-.*-build-[0-9a-f]{6}\)[\s\S]*step-build: terminated \(exit 0/,
    );

    const created = recorder.added([echo]);
    expect(created).toHaveLength(1);
    // Labelled with the run, as its ConfigMap and Secret were: what the post step finds a cancelled run by.
    expect(created[0]?.object.metadata?.labels?.['faas-deploy.dev/run']).toBe(runId);
    expect(created[0]?.object.spec).toMatchObject({
      params: expect.arrayContaining([{ name: 'IMAGE', value: echoRequest.image }]) as unknown,
    });
    expect(await leftovers(echo)).toEqual([]);

    const url = await startFunction(docker, echoBuilt.image, containers);
    const body = `tekton says ${suffix}`;
    expect(await post(url, body)).toEqual({ status: 200, text: body });
  }, 900_000);

  it('both sides of the ConfigMap limit: one ConfigMap, and a context split over two and rejoined byte for byte; over the cap nothing is created', async () => {
    // Incompressible blobs: gzip cannot shrink them, so their size decides the number of ConfigMaps.
    const under = randomBytes(CONTEXT_PART_BYTES - 64 * 1024);
    const over = randomBytes(CONTEXT_PART_BYTES + 256 * 1024);
    const dockerfile = `ARG RUNTIME_IMAGE=${images.runtime}\nFROM \${RUNTIME_IMAGE}\nCOPY blob /blob\n`;
    const one = await packaged(
      ws.root,
      await ws.write(`functions/${fnName('one')}`, { Dockerfile: dockerfile, blob: under }),
      fnName('one'),
      registry,
      images,
      'dockerfile',
    );
    const two = await packaged(
      ws.root,
      await ws.write(`functions/${fnName('two')}`, { Dockerfile: dockerfile, blob: over }),
      fnName('two'),
      registry,
      images,
      'dockerfile',
    );
    const huge = await packaged(
      ws.root,
      await ws.write(`functions/${fnName('huge')}`, {
        Dockerfile: dockerfile,
        blob: randomBytes(CONTEXT_PART_BYTES * MAX_CONTEXT_PARTS + 1024),
      }),
      fnName('huge'),
      registry,
      images,
      'dockerfile',
    );
    // This run uses a registry secret made by the cluster admin (input registry-secret) instead of one from the credentials.
    const secretName = `b6-regcred-${suffix}`;
    const auth = Buffer.from(`${user}:${password}`).toString('base64');
    await adminObjects.create({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: meta({ name: secretName, namespace: ns }),
      type: 'kubernetes.io/dockerconfigjson',
      data: {
        '.dockerconfigjson': Buffer.from(JSON.stringify({ auths: { [authRegistry]: { auth } } })).toString(
          'base64',
        ),
      },
    } as KubernetesObject);
    try {
      const results = await stage([one, two, huge], settings({ registrySecret: secretName }));
      const text = logs.at(-1)?.text() ?? '';
      expect(results.get(fnName('one')), text).toMatchObject({ status: 'built' });
      expect(results.get(fnName('two')), text).toMatchObject({ status: 'built' });
      expect(text).toMatch(
        new RegExp(`${fnName('one')}: building .* \\(context [\\d.]+ KiB in 1 ConfigMap\\)`),
      );
      expect(text).toMatch(
        new RegExp(`${fnName('two')}: building .* \\(context [\\d.]+ KiB in 2 ConfigMaps\\)`),
      );
      expect(text).toMatch(/step-join-context: terminated \(exit 0/);
      expect(results.get(fnName('huge'))).toMatchObject({
        status: 'failed',
        reason: expect.stringMatching(
          /^The build context of .* is 8\.0 MiB compressed; the Tekton builder carries at most 8\.0 MiB \(8 ConfigMaps of 1\.00 MiB\)/,
        ) as unknown,
      });
      expect(recorder.added([fnName('huge')])).toEqual([]);
      // No Secret was made from the credentials: the TaskRun mounted the given one.
      const run = recorder.added([fnName('two')])[0]?.object.spec as {
        workspaces: { name: string; secret?: { secretName: string } }[];
      };
      expect(run.workspaces.find((w) => w.name === 'dockerconfig')?.secret?.secretName).toBe(secretName);
      // The pushed images hold the blobs byte for byte.
      for (const [fn, blob] of [
        [fnName('one'), under],
        [fnName('two'), over],
      ] as const) {
        const result = results.get(fn);
        const sum = await docker.run([
          'run',
          '--rm',
          '--network',
          'host',
          result?.status === 'built' ? result.image : '?',
          'sha256sum',
          '/blob',
        ]);
        expect(sum.stdout.split(' ')[0]).toBe(
          (await import('node:crypto')).createHash('sha256').update(blob).digest('hex'),
        );
      }
      expect(await leftovers(fnName('two'))).toEqual([]);
    } finally {
      await adminObjects.delete({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: meta({ name: secretName, namespace: ns }),
      });
    }
  }, 900_000);

  it('a second run creates no TaskRun: the API server sees none, 10 unchanged functions in under 2 s', async () => {
    const small: BuildRequest[] = [];
    for (let i = 0; i < 9; i++) {
      const name = fnName(`tsmall-${i}`);
      const dir = await ws.write(`functions/${name}`, {
        Dockerfile: `FROM ${images.runtime}\nCOPY n.txt /n.txt\n`,
        'n.txt': `${i}\n`,
      });
      small.push(await packaged(ws.root, dir, name, registry, images, 'dockerfile'));
    }
    const first = await stage(small, settings());
    expect([...first.values()].map((r) => r.status)).toEqual(Array(9).fill('built'));
    // The same content built by kaniko in the runner gives the same image (--reproducible, the default).
    const inRunner = {
      ...small[0],
      image: small[0]?.image.replace(registry, `${registry}-runner`),
    } as BuildRequest;
    const viaKaniko = await stage([inRunner], {
      ...settings({ registry: `${registry}-runner` }),
      builder: 'kaniko',
      dockerEnv: docker.env,
    });
    const tektonDigest = first.get(small[0]?.name ?? '');
    expect(viaKaniko.get(inRunner.name)).toMatchObject({
      status: 'built',
      digest: tektonDigest?.status === 'built' ? tektonDigest.digest : '?',
    });
    const names = [echo, ...small.map((s) => s.name)];
    const before = recorder.added(names).length;
    expect(before).toBe(10);
    const t0 = Date.now();
    const second = await stage([echoRequest, ...small], settings());
    const elapsed = Date.now() - t0;
    expect([...second.values()].map((r) => r.status)).toEqual(Array(10).fill('skipped'));
    expect(second.get(echo)).toMatchObject({
      digest: echoBuilt?.status === 'built' ? echoBuilt.digest : '?',
    });
    expect(elapsed).toBeLessThan(2000);
    await new Promise((r) => setTimeout(r, 1000));
    expect(recorder.added(names)).toHaveLength(before);
    console.log(`tekton skip path: 10 unchanged functions in ${elapsed} ms`);
  }, 900_000);

  it('a failing Dockerfile step: the failing step’s message and kaniko’s log tail; the TaskRun with a missing executor image fails too', async () => {
    const brokenName = fnName('broken');
    const broken = await packaged(
      ws.root,
      await ws.write(`functions/${brokenName}`, {
        'go.mod': 'module x\n\ngo 1.22\n',
        'main.go': 'package main\n\nnot go at all\n',
      }),
      brokenName,
      registry,
      images,
    );
    const results = await stage([broken], settings());
    const failed = results.get(brokenName);
    expect(failed?.status).toBe('failed');
    if (failed?.status !== 'failed') return;
    expect(failed.reason).toMatch(
      new RegExp(
        `^TaskRun faas-test/${brokenName}-build-[0-9a-f]{6} failed: StepFailed: "step-build" exited with code 1: Error — error building image: .*exit status 1`,
      ),
    );
    expect(failed.logTail).toMatch(/main\.go:3:1: syntax error/);

    const other = await packaged(
      ws.root,
      await ws.write(`functions/${fnName('noexec')}`, { Dockerfile: `FROM ${images.runtime}\n`, x: suffix }),
      fnName('noexec'),
      registry,
      images,
      'dockerfile',
    );
    const missing = `${need('REGISTRY')}/faas-base/no-such-kaniko:v0`;
    const noExec = (await stage([other], settings({ kanikoImage: missing }))).get(fnName('noexec'));
    expect(noExec).toMatchObject({
      status: 'failed',
      reason: expect.stringMatching(
        new RegExp(
          `failed: TaskRunImagePullFailed: the step "build" in TaskRun .* failed to pull the image "${missing.replace(/[.]/g, '\\.')}"`,
        ),
      ) as unknown,
    });
    expect(await leftovers(brokenName)).toEqual([]);
  }, 900_000);

  it('a TaskRun over its timeout fails with Tekton’s message; cancelling the run cancels the TaskRun and stops its step', async () => {
    const slowFile = { Dockerfile: `FROM ${images.runtime}\nRUN sleep 300\n` };
    const late = await packaged(
      ws.root,
      await ws.write(`functions/${fnName('late')}`, { ...slowFile, a: '1' }),
      fnName('late'),
      registry,
      images,
      'dockerfile',
    );
    const timedOut = (await stage([late], settings({ timeoutSeconds: 8 }))).get(fnName('late'));
    expect(timedOut).toMatchObject({
      status: 'failed',
      reason: expect.stringMatching(
        /failed: TaskRunTimeout: TaskRun ".*" failed to finish within "8s"/,
      ) as unknown,
    });

    const stopName = fnName('stop');
    const stop = await packaged(
      ws.root,
      await ws.write(`functions/${stopName}`, { ...slowFile, a: '2' }),
      stopName,
      registry,
      images,
      'dockerfile',
    );
    const controller = new AbortController();
    const pending = stage([stop], settings(), controller.signal);
    const deadline = Date.now() + 120_000;
    // Cancel once the kaniko step runs.
    while (
      !recorder.events.some(
        (e) => e.fn === stopName && JSON.stringify(e.object.status ?? {}).includes('"running"'),
      )
    ) {
      if (Date.now() > deadline) throw new Error('the TaskRun never ran its step');
      await new Promise((r) => setTimeout(r, 250));
    }
    const t0 = Date.now();
    controller.abort();
    const result = (await pending).get(stopName);
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(result).toMatchObject({
      status: 'failed',
      reason: expect.stringMatching(
        /^Build cancelled; TaskRun faas-test\/.* was cancelled \(TaskRunCancelled: TaskRun ".*" was cancelled\. The faas-deploy run was cancelled\.\)\.$/,
      ) as unknown,
    });
    const seen = recorder.events.filter((e) => e.fn === stopName);
    expect(seen.some((e) => (e.object.spec as { status?: string }).status === 'TaskRunCancelled')).toBe(true);
    expect(seen.at(-1)?.type).toBe('DELETED');
    const running = await docker.run([
      'ps',
      '-q',
      '--filter',
      `ancestor=${need('IMAGE_KANIKO')}`,
      '--filter',
      `name=tekton-standin-${(seen[0]?.object.metadata?.uid ?? '').slice(0, 8)}`,
    ]);
    expect(running.stdout.trim()).toBe('');
  }, 900_000);

  it('references the installed Task (templates/tekton/task.yaml) instead of embedding it', async () => {
    const task = load(
      await readFile(path.join(repoRoot, 'templates/tekton/task.yaml'), 'utf8'),
    ) as KubernetesObject;
    task.metadata = meta({
      name: task.metadata?.name ?? '',
      labels: task.metadata?.labels ?? {},
      namespace: ns,
    });
    // Installing Tasks is the cluster admin's job; the deployer only references it.
    await adminObjects.patch(
      task,
      undefined,
      undefined,
      'faas-build-itest',
      true,
      PatchStrategy.ServerSideApply,
    );
    const name = fnName('viaref');
    const req = await packaged(
      ws.root,
      await ws.write(`functions/${name}`, {
        Dockerfile: `FROM ${images.runtime}\nCOPY r.txt /r.txt\n`,
        'r.txt': suffix,
      }),
      name,
      registry,
      images,
      'dockerfile',
    );
    const result = (await stage([req], settings({ tektonTask: 'faas-deploy-kaniko' }))).get(name);
    expect(result, logs.at(-1)?.text()).toMatchObject({ status: 'built' });
    expect(recorder.added([name])[0]?.object.spec).toMatchObject({
      taskRef: { kind: 'Task', name: 'faas-deploy-kaniko' },
    });
    expect(logs.at(-1)?.text()).toMatch(/step-join-context: terminated \(exit 0/);
  }, 900_000);

  it('no secret value appears in any log, output or TaskRun', () => {
    const text = [
      ...logs.map((l) => l.text()),
      JSON.stringify(outputs),
      JSON.stringify(recorder.events.map((e) => e.object)),
    ].join('\n');
    expect(text.length).toBeGreaterThan(1000);
    for (const secret of secretForms(user, password, authRegistry)) expect(text).not.toContain(secret);
  });
});
