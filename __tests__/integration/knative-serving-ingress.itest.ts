// The Knative Serving stand-in serves: a Ready Service's revision runs as a container in the Docker
// engine and the stand-in's ingress (INGRESS_ADDRESS) routes to it by Host header, as Knative's
// gateway does. examples/functions/echo is built once with the environment's base images; the Service
// is rendered as the action renders it and applied with the admin kubeconfig; curl is the client.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { packageFunction, writeBuildContext } from '../../src/package/index.js';
import { renderService } from '../../src/deploy/render-service.js';
import type { FunctionSpec } from '../../src/plan/types.js';
import { KubeRest, resourcePath, type KubeObject } from '../../test/standins/kube-client.ts';
import { functionSpec } from './deploy-helpers.ts';
import { testImages } from './helpers/templates.js';

const env = inject('testEnv');
const need = (key: string): string => {
  const value = env[key];
  if (!value) throw new Error(`${key} is missing from the test environment (scripts/test-env/test-env env)`);
  return value;
};

const run = randomBytes(3).toString('hex');
const namespace = need('KUBE_NAMESPACE');
const ingress = need('INGRESS_ADDRESS');
const registry = need('REGISTRY');
const authRegistry = need('REGISTRY_AUTH');
const name = `ingress-echo-${run}`;
const pullSecret = `ingress-pull-${run}`;
const admin = KubeRest.fromFile(need('KUBECONFIG_ADMIN'));
const servicePath = resourcePath('serving.knative.dev', 'v1', namespace, 'services', name);
const ofServices = [`ingress-ofw-a-${run}`, `ingress-ofw-b-${run}`];
const body = '{"Name": "Foo"}';

interface Exec {
  code: number;
  stdout: string;
  stderr: string;
}
function exec(file: string, args: string[], opts: { env?: NodeJS.ProcessEnv } = {}): Promise<Exec> {
  return new Promise((resolve) => {
    execFile(file, args, { maxBuffer: 64 << 20, encoding: 'utf8', ...opts }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

let dockerConfig = '';
async function docker(args: string[], allowFail = false): Promise<Exec> {
  const r = await exec('docker', args, {
    env: {
      ...process.env,
      DOCKER_HOST: need('DOCKER_HOST'),
      DOCKER_CONFIG: dockerConfig,
      DOCKER_BUILDKIT: '0',
    },
  });
  if (r.code !== 0 && !allowFail) throw new Error(`docker ${args.join(' ')}: ${r.stderr}${r.stdout}`);
  return r;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The stand-in's containers of one revision (running or not). */
async function containersOf(revision: string): Promise<string[]> {
  const r = await docker([
    'ps', '-a', '--format', '{{.Names}}',
    '--filter', 'label=faas-deploy.standin=knative-serving',
    '--filter', `label=serving.knative.dev/namespace=${namespace}`,
    '--filter', `label=serving.knative.dev/revision=${revision}`,
  ]); // prettier-ignore
  return r.stdout.split('\n').filter(Boolean);
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const got = await probe();
      if (got !== undefined) return got;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`${what}: not within ${timeoutMs} ms ${last instanceof Error ? last.message : ''}`);
    await sleep(200);
  }
}

type Svc = KubeObject & {
  status?: {
    observedGeneration?: number;
    url?: string;
    latestReadyRevisionName?: string;
    conditions?: Array<{ type: string; status: string; reason?: string; message?: string }>;
  };
};

const servicePathOf = (service: string): string =>
  resourcePath('serving.knative.dev', 'v1', namespace, 'services', service);

/** Waits until the stand-in has observed `generation` and the Service is Ready. */
function ready(generation: number, service = name): Promise<Svc> {
  return until(`${service} Ready at generation ${generation}`, 60_000, async () => {
    const svc = await admin.get<Svc>(servicePathOf(service));
    const cond = svc?.status?.conditions?.find((c) => c.type === 'Ready');
    if ((svc?.status?.observedGeneration ?? 0) < generation || !cond || cond.status === 'Unknown')
      return undefined;
    if (cond.status !== 'True')
      throw new Error(`Ready ${cond.status} ${cond.reason ?? ''}: ${cond.message ?? ''}`);
    return svc;
  });
}

interface Answer {
  status: number;
  contentType: string;
  body: string;
}

/** `curl -sS -H "Host: <host>" http://<INGRESS_ADDRESS> -d '{"Name": "Foo"}'`, as a user would type it. */
async function curl(host: string): Promise<Answer> {
  const r = await exec('curl', [
    '-sS', '-H', `Host: ${host}`, `http://${ingress}`, '-d', body,
    '-w', '\n%{http_code} %{content_type}',
  ]); // prettier-ignore
  if (r.code !== 0) throw new Error(`curl exited ${r.code}: ${r.stderr}`);
  const cut = r.stdout.lastIndexOf('\n');
  const [status, contentType] = r.stdout.slice(cut + 1).split(' ');
  return { status: Number(status), contentType: contentType ?? '', body: r.stdout.slice(0, cut) };
}

/** curl until the answer is not 503 (the container is starting), for up to 60 s. */
async function curlUntilServed(host: string): Promise<Answer & { waitedMs: number }> {
  const t0 = performance.now();
  for (;;) {
    const a = await curl(host);
    if (a.status !== 503 || performance.now() - t0 > 60_000)
      return { ...a, waitedMs: performance.now() - t0 };
    await sleep(250);
  }
}

let image = '';
let authImage = '';
const workDirs: string[] = [];

/**
 * `docker build` of a function as the action packages it, pushed to the anonymous registry. The tag
 * is the content hash of the build context, so an image the engine and the registry both have under
 * it is this build already (a second run builds nothing).
 */
async function buildOnce(root: string, spec: FunctionSpec, repo: string): Promise<string> {
  const packaged = await packageFunction(root, spec, testImages);
  const ref = `${registry}/faas-test/knative-ingress-${repo}:${packaged.tag}`;
  const manifest = await fetch(
    `http://${registry}/v2/faas-test/knative-ingress-${repo}/manifests/${packaged.tag}`,
    {
      method: 'HEAD',
      headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json' },
    },
  );
  if (manifest.ok && (await docker(['image', 'inspect', ref], true)).code === 0) return ref;
  const t0 = performance.now();
  const context = await mkdtemp(path.join(tmpdir(), 'faas-ingress-ctx-'));
  workDirs.push(context);
  const dockerfile = await writeBuildContext(packaged, context);
  await docker(['build', '-q', '--network', 'host', '--pull=false', '-f', path.join(context, dockerfile), '-t', ref, context]); // prettier-ignore
  await docker(['push', '-q', ref]);
  console.log(`built and pushed ${ref} in ${Math.round(performance.now() - t0)} ms`);
  return ref;
}

beforeAll(async () => {
  dockerConfig = await mkdtemp(path.join(tmpdir(), 'faas-ingress-docker-'));
  workDirs.push(dockerConfig);
  // Credentials for the authenticated registry, for the push only (the stand-in uses the pull secret).
  const auth = Buffer.from(`${need('REGISTRY_AUTH_USER')}:${need('REGISTRY_AUTH_PASSWORD')}`).toString(
    'base64',
  );
  await writeFile(
    path.join(dockerConfig, 'config.json'),
    JSON.stringify({ auths: { [authRegistry]: { auth } } }),
  );

  // examples/functions/echo with the Go template and the environment's base images.
  image = await buildOnce(
    process.cwd(),
    functionSpec('echo', { directory: 'examples/functions/echo' }),
    'echo',
  );

  // The same image under another name in the registry that wants credentials, and not in the engine
  // under that name: the stand-in must pull it with the Service's imagePullSecret.
  const authTag = `${authRegistry}/knative-ingress-${run}/echo:v2`;
  await docker(['tag', image, authTag]);
  const pushed = await docker(['push', authTag]);
  const digest = /digest: (sha256:[0-9a-f]{64})/.exec(pushed.stdout)?.[1];
  if (!digest) throw new Error(`no digest in docker push output: ${pushed.stdout}`);
  authImage = `${authRegistry}/knative-ingress-${run}/echo@${digest}`;
  await docker(['rmi', authTag, authImage], true);
  expect((await docker(['image', 'inspect', authImage], true)).code).not.toBe(0);
  await admin.call('POST', resourcePath('', 'v1', namespace, 'secrets'), {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: pullSecret },
    type: 'kubernetes.io/dockerconfigjson',
    data: {
      '.dockerconfigjson': Buffer.from(JSON.stringify({ auths: { [authRegistry]: { auth } } })).toString(
        'base64',
      ),
    },
  });
});

afterAll(async () => {
  for (const service of [name, ...ofServices])
    await admin.delete(servicePathOf(service)).catch(() => undefined);
  await admin.delete(resourcePath('', 'v1', namespace, 'secrets', pullSecret)).catch(() => undefined);
  for (const dir of workDirs) await rm(dir, { recursive: true, force: true });
});

function apply(
  img: string,
  extra: {
    env?: Record<string, string>;
    pullSecret?: string;
    service?: string;
    spec?: Partial<FunctionSpec>;
  } = {},
): Promise<Svc> {
  const service = extra.service ?? name;
  const svc = renderService(functionSpec(service, { env: extra.env ?? {}, ...extra.spec }), {
    service,
    namespace,
    image: img,
    ...(extra.pullSecret ? { imagePullSecret: extra.pullSecret } : {}),
  });
  return admin.apply<Svc>(servicePathOf(service), svc, 'knative-ingress-itest');
}

describe('the Knative stand-in serves through its ingress', () => {
  let host = '';

  it('a Ready Service answers curl through INGRESS_ADDRESS with the Host of its URL', async () => {
    const applied = await apply(image);
    const svc = await ready(applied.metadata.generation ?? 1);
    const readyAt = performance.now();
    host = new URL(svc.status?.url ?? '').host;
    expect(host).toBe(`${name}.${namespace}.example.com`);
    const answer = await curlUntilServed(host);
    expect(answer).toMatchObject({ status: 200, body });
    console.log(`${name}-00001: answering ${Math.round(performance.now() - readyAt)} ms after Ready`);
    expect(await containersOf(`${name}-00001`)).toHaveLength(1);
    // Another host is not routed; the port in Host does not matter.
    expect((await curl(`nobody-${run}.${namespace}.example.com`)).status).toBe(404);
    expect((await curl(`${host}:80`)).status).toBe(200);
  });

  it('an update (new image from the authenticated registry, new env) is served by the new revision; the old container goes', async () => {
    const applied = await apply(authImage, {
      env: { content_type: 'text/x-revision-2' },
      pullSecret,
    });
    const svc = await ready(applied.metadata.generation ?? 2);
    expect(svc.status?.latestReadyRevisionName).toBe(`${name}-00002`);
    const readyAt = performance.now();
    // The watchdog's content_type env of revision 2 shows which revision answered.
    const answer = await until('revision 2 answering', 60_000, async () => {
      const a = await curl(host);
      return a.status === 200 && a.contentType === 'text/x-revision-2' ? a : undefined;
    });
    expect(answer.body).toBe(body);
    console.log(
      `${name}-00002 (pulled with the pull secret): answering ${Math.round(performance.now() - readyAt)} ms after Ready`,
    );
    await until('the old revision container removed', 20_000, async () =>
      (await containersOf(`${name}-00001`)).length === 0 ? true : undefined,
    );
    expect(await containersOf(`${name}-00002`)).toHaveLength(1);
    // The engine now has the image under the authenticated registry's name: the stand-in pulled it.
    expect((await docker(['image', 'inspect', authImage], true)).code).toBe(0);
  });

  it('a deleted Service: its host answers 404 and no container of it is left', async () => {
    await admin.delete(servicePath);
    await until('404 after delete', 20_000, async () =>
      (await curl(host)).status === 404 ? true : undefined,
    );
    await until('no container left', 20_000, async () =>
      (await containersOf(`${name}-00001`)).length + (await containersOf(`${name}-00002`)).length === 0
        ? true
        : undefined,
    );
  });

  it('two of-watchdog Services at once: each upstream_url moved to its own port; K_SERVICE and K_REVISION reach the function', async () => {
    // A Node handler for the of-watchdog http template (no package.json: no npm stage to build).
    const root = await mkdtemp(path.join(tmpdir(), 'faas-ingress-fn-'));
    workDirs.push(root);
    await mkdir(path.join(root, 'whoami'));
    await writeFile(
      path.join(root, 'whoami', 'handler.js'),
      'module.exports = async (event) => ({ service: process.env.K_SERVICE, revision: process.env.K_REVISION, body: event.text() });\n',
    );
    const spec = functionSpec('whoami', { directory: 'whoami', runtime: 'node', watchdog: 'of-watchdog' });
    const ofImage = await buildOnce(root, spec, 'whoami');
    const applied = await Promise.all(
      ofServices.map((service) =>
        apply(ofImage, { service, spec: { runtime: 'node', watchdog: 'of-watchdog' } }),
      ),
    );
    const hosts = await Promise.all(
      ofServices.map(async (service, i) => {
        const svc = await ready(applied[i]?.metadata.generation ?? 1, service);
        return new URL(svc.status?.url ?? '').host;
      }),
    );
    // Both answer at the same time: with the templates' fixed 127.0.0.1:8082 one would not start.
    for (const [i, host] of hosts.entries()) {
      const answer = await curlUntilServed(host);
      expect(answer.status, answer.body).toBe(200);
      expect(JSON.parse(answer.body)).toEqual({
        service: ofServices[i],
        revision: `${ofServices[i] ?? ''}-00001`,
        body,
      });
    }
    for (const service of ofServices) await admin.delete(servicePathOf(service));
  });
});
