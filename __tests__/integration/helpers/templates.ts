// Shared by templates-contract.itest.ts and templates-kaniko.itest.ts: the contract functions (one
// per runtime × watchdog), building a packaged function with the real Docker engine or the real
// kaniko executor image, running it as a watchdog container on the host network, and the contract
// cases every such container must pass.
import { execFile, spawn, type ExecFileOptions } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, inject, it } from 'vitest';
import type { ResolvedBaseImages } from '../../../src/package/base-images.js';
import { packageFunction, writeBuildContext, type PackagedFunction } from '../../../src/package/index.js';
import { requestTimeouts, SHUTDOWN_GRACE } from '../../../src/package/render-dockerfile.js';
import type { FunctionSpec, Runtime, Watchdog } from '../../../src/plan/types.js';
import { freePort } from '../../../test/support/net.ts';

export { contractFunctions } from './contract-functions.js';

const env = inject('testEnv');

export function need(key: string): string {
  const value = env[key];
  if (!value) throw new Error(`${key} is missing from the test environment (scripts/test-env/test-env env)`);
  return value;
}

export const registry = need('REGISTRY');
export const kanikoImage = need('IMAGE_KANIKO');

/** The base images of the test environment, as input `base-images` would set them. */
export const testImages: ResolvedBaseImages = {
  builder: need('IMAGE_GO_BUILDER'),
  runtime: need('IMAGE_RUNTIME'),
  watchdog: need('IMAGE_CLASSIC_WATCHDOG'),
  ofWatchdog: need('IMAGE_OF_WATCHDOG'),
  node: need('IMAGE_NODE'),
  nodeRuntime: need('IMAGE_NODE'),
  python: need('IMAGE_PYTHON'),
  pythonRuntime: need('IMAGE_PYTHON'),
};

export const suffix = randomBytes(4).toString('hex');

/**
 * The host's CA bundle. This machine reaches the package registries (Go module proxy, npm, PyPI)
 * through a TLS-intercepting proxy whose CA only the host trusts, so dependency stages use the
 * environment's build images plus this bundle (a real runner's bundle works the same way).
 */
const hostCaBundle = process.env.SSL_CERT_FILE ?? '/etc/ssl/certs/ca-certificates.crt';

async function withHostCa(base: string, key: string): Promise<string> {
  const ca = await readFile(hostCaBundle);
  const dir = await workDir('builder-ca');
  await writeFile(path.join(dir, 'ca-certificates.crt'), ca);
  const file = '/etc/faas-test/ca-certificates.crt';
  await writeFile(
    path.join(dir, 'Dockerfile'),
    [
      'ARG BASE',
      'FROM ${BASE}',
      `COPY ca-certificates.crt ${file}`,
      `ENV SSL_CERT_FILE=${file} NODE_EXTRA_CA_CERTS=${file} PIP_CERT=${file} REQUESTS_CA_BUNDLE=${file}`,
      '',
    ].join('\n'),
  );
  const hash = createHash('sha256').update(ca).update(base).digest('hex').slice(0, 16);
  const image = `${registry}/faas-test/builder-ca-${key}:${hash}`;
  await docker([
    'build',
    '--network',
    'host',
    '--pull=false',
    '-q',
    '--build-arg',
    `BASE=${base}`,
    '-t',
    image,
    dir,
  ]);
  await docker(['push', '-q', image]); // kaniko pulls its base images from the registry
  return image;
}

let buildImagesPromise: Promise<ResolvedBaseImages> | undefined;

/** testImages with the build-stage images (Go builder, Node, Python) trusting the host's CA bundle. */
export function buildImages(): Promise<ResolvedBaseImages> {
  buildImagesPromise ??= (async () => ({
    ...testImages,
    builder: await withHostCa(testImages.builder, 'golang'),
    node: await withHostCa(testImages.node, 'node'),
    python: await withHostCa(testImages.python, 'python'),
  }))();
  return buildImagesPromise;
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(file: string, args: string[], opts: ExecFileOptions = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { maxBuffer: 256 << 20, encoding: 'utf8', ...opts }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

let dockerConfig: string | undefined;
async function dockerEnv(): Promise<NodeJS.ProcessEnv> {
  if (!dockerConfig) {
    // A throw-away client config: the invoking user's ~/.docker (helpers, logins) stays out.
    dockerConfig = await mkdtemp(path.join(tmpdir(), 'faas-templates-docker-'));
  }
  return {
    ...process.env,
    DOCKER_HOST: need('DOCKER_HOST'),
    DOCKER_CONFIG: dockerConfig,
    DOCKER_BUILDKIT: '0',
  };
}

export async function docker(args: string[], opts: { allowFail?: boolean } = {}): Promise<Run> {
  const r = await run('docker', args, { env: await dockerEnv() });
  if (r.code !== 0 && !opts.allowFail) {
    throw new Error(`docker ${args.join(' ')} exited ${r.code}\n${r.stderr}${r.stdout}`);
  }
  return r;
}

/** At most `n` of the given jobs at once: the machine has two cores. */
export function limiter(n: number): <T>(job: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async <T>(job: () => Promise<T>): Promise<T> => {
    while (active >= n) await new Promise<void>((resolve) => waiting.push(resolve));
    active++;
    try {
      return await job();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}

export const twoAtATime = limiter(2);

export { freePort };

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const workDirs: string[] = [];
const containers: string[] = [];
afterAll(async () => {
  for (const name of containers) await docker(['rm', '-f', name], { allowFail: true });
  for (const dir of workDirs) await rm(dir, { recursive: true, force: true });
  if (dockerConfig) await rm(dockerConfig, { recursive: true, force: true });
});

export async function workDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), `faas-${prefix}-`));
  workDirs.push(dir);
  return dir;
}

export async function writeFiles(dir: string, files: Record<string, string | Buffer>): Promise<void> {
  for (const [name, data] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), data);
  }
}

export function specFor(
  name: string,
  directory: string,
  runtime: Runtime,
  watchdog: Watchdog,
  timeoutSeconds: number,
): FunctionSpec {
  return {
    name,
    directory,
    runtime,
    watchdog,
    env: {},
    secrets: [],
    scale: {},
    timeoutSeconds,
    resources: {},
    visibility: 'public',
  };
}

/** Packages a function directory that sits anywhere on disk, with the test environment's images. */
export async function packageDir(
  dir: string,
  spec: Omit<FunctionSpec, 'directory'>,
): Promise<PackagedFunction> {
  return packageFunction(path.dirname(dir), { ...spec, directory: path.basename(dir) }, await buildImages());
}

/** The base images a packaged function names, as --build-arg values (they override the ARG defaults). */
export async function buildArgs(runtime: Runtime, watchdog: Watchdog): Promise<string[]> {
  const images = await buildImages();
  const [builder, runtimeImage] =
    runtime === 'node'
      ? [images.node, images.nodeRuntime]
      : runtime === 'python'
        ? [images.python, images.pythonRuntime]
        : [images.builder, images.runtime];
  return [
    `BUILDER_IMAGE=${builder}`,
    `RUNTIME_IMAGE=${runtimeImage}`,
    `WATCHDOG_IMAGE=${watchdog === 'classic' ? images.watchdog : images.ofWatchdog}`,
  ];
}

export interface BuildResult {
  image: string;
  output: string;
  seconds: number;
}

/** `docker build --network host` of the context writeBuildContext makes, with the base images as build args. */
export async function dockerBuild(
  packaged: PackagedFunction,
  image: string,
  watchdog: Watchdog,
): Promise<BuildResult> {
  const context = await workDir('ctx');
  const dockerfile = await writeBuildContext(packaged, context);
  const args = [
    'build',
    '--network',
    'host',
    '--pull=false',
    '-f',
    path.join(context, dockerfile),
    '-t',
    image,
  ];
  for (const arg of await buildArgs(packaged.runtime, watchdog)) args.push('--build-arg', arg);
  const start = performance.now();
  const r = await docker([...args, context]);
  return { image, output: r.stdout + r.stderr, seconds: (performance.now() - start) / 1000 };
}

/**
 * Builds with the kaniko executor image as the action's kaniko builder does: the context mounted
 * read-only, the image pushed to the anonymous registry, the digest written to a file.
 */
export async function kanikoBuild(
  packaged: PackagedFunction,
  repository: string,
  watchdog: Watchdog,
  opts: { cacheRepo?: string } = {},
): Promise<BuildResult & { digest: string }> {
  const context = await workDir('kaniko-ctx');
  const out = await workDir('kaniko-out');
  const dockerfile = await writeBuildContext(packaged, context);
  const destination = `${registry}/${repository}:${packaged.tag}`;
  const args = [
    'run', '--rm', '--network', 'host',
    '-v', `${context}:/workspace:ro`,
    '-v', `${out}:/out`,
    kanikoImage,
    '--context', 'dir:///workspace',
    '--dockerfile', `/workspace/${dockerfile}`,
    '--destination', destination,
    '--insecure', '--insecure-registry', registry,
    '--digest-file', '/out/digest',
  ]; // prettier-ignore
  for (const arg of await buildArgs(packaged.runtime, watchdog)) args.push('--build-arg', arg);
  if (opts.cacheRepo) args.push('--cache=true', `--cache-repo=${registry}/${opts.cacheRepo}`);
  const start = performance.now();
  const r = await docker(args);
  const seconds = (performance.now() - start) / 1000;
  const digest = await readFile(path.join(out, 'digest'), 'utf8');
  return { image: `${registry}/${repository}@${digest}`, digest, output: r.stdout + r.stderr, seconds };
}

/** The steps of a legacy `docker build` log, each with whether the builder took it from its cache. */
export function buildSteps(output: string): { instruction: string; cached: boolean }[] {
  const parts = output.split(/^Step \d+\/\d+ : /m).slice(1);
  return parts.map((part) => ({
    instruction: (part.split('\n')[0] ?? '').trim(),
    cached: /^ ---> Using cache$/m.test(part),
  }));
}

export interface FunctionContainer {
  name: string;
  url: string;
  logs(): Promise<string>;
}

let containerCount = 0;

/** Runs an image on the host network with its own watchdog port (and upstream port) and waits for it. */
export async function startFunction(image: string, watchdog: Watchdog): Promise<FunctionContainer> {
  const port = await freePort();
  // A port can come back after its container stopped; the counter keeps names unique anyway.
  const name = `faas-tpl-${suffix}-${String(++containerCount)}-${port}`;
  const args = ['run', '-d', '--name', name, '--network', 'host', '-e', `port=${port}`];
  if (watchdog === 'of-watchdog') args.push('-e', `upstream_url=http://127.0.0.1:${await freePort()}`);
  await docker([...args, image]);
  containers.push(name);
  const url = `http://127.0.0.1:${port}`;
  const logs = async (): Promise<string> => {
    const r = await docker(['logs', name], { allowFail: true });
    return r.stdout + r.stderr;
  };
  // The classic watchdog is ready when /_/health answers; of-watchdog's /_/ready also asks the
  // function's server, which starts after the watchdog.
  const probe = watchdog === 'classic' ? '/_/health' : '/_/ready';
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      if ((await fetch(`${url}${probe}`)).status === 200) return { name, url, logs };
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline)
      throw new Error(`${image} not ready on ${url}${probe} after 30s\n${await logs()}`);
    await sleep(100);
  }
}

async function waitForLog(fn: FunctionContainer, text: string): Promise<string> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const logs = await fn.logs();
    if (logs.includes(text) || Date.now() > deadline) return logs;
    await sleep(200);
  }
}

const sha = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

/**
 * The contract of issue 5, as test cases against one running container of `image()` built from the
 * contract function of `watchdog` with a function timeout of `timeoutSeconds`. The cases run in
 * order; the last one stops the container.
 */
export function contractCases(
  label: string,
  watchdog: Watchdog,
  image: () => string,
  timeoutSeconds: number,
): void {
  let fn: FunctionContainer | undefined;
  const started = async (): Promise<FunctionContainer> => {
    fn ??= await startFunction(image(), watchdog);
    return fn;
  };
  const post = async (
    pathAndQuery: string,
    body?: Uint8Array | string,
    headers: Record<string, string> = {},
  ) => {
    const f = await started();
    const res = await fetch(`${f.url}${pathAndQuery}`, { method: 'POST', body, headers });
    return { status: res.status, body: new Uint8Array(await res.arrayBuffer()), headers: res.headers };
  };
  const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8');

  it(`${label}: body in, body out (text, JSON, binary, empty, 10 MiB)`, async () => {
    const binary = new Uint8Array(65_536 + 256);
    for (let i = 0; i < 256; i++) binary[i] = i;
    binary.set(randomBytes(65_536), 256);
    const bodies: [string, Uint8Array][] = [
      ['text', Buffer.from('Hello, wörld!\nSecond line.\n')],
      ['json', Buffer.from(JSON.stringify({ name: 'Ada', list: [1, 2, 3], nested: { ok: true } }))],
      ['binary', binary],
      ['empty', new Uint8Array(0)],
      ['10 MiB', randomBytes(10 * 1024 * 1024)],
    ];
    for (const [kind, body] of bodies) {
      const res = await post('/echo', body, { 'Content-Type': 'application/octet-stream' });
      expect(res.status, kind).toBe(200);
      expect(res.body.length, kind).toBe(body.length);
      expect(sha(res.body), kind).toBe(sha(body));
    }
  });

  it(`${label}: method, path, query and headers reach the function`, async () => {
    const f = await started();
    const res = await fetch(`${f.url}/env?a=1&b=two%20words`, {
      method: 'PUT',
      body: 'payload',
      headers: { 'X-Contract': 'hello header' },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      method: 'PUT',
      path: '/env',
      query: 'a=1&b=two%20words',
      header: 'hello header',
      body: 'payload',
    });
  });

  it(`${label}: a failing function gives a 500; its stderr is in the log, not in the body`, async () => {
    const marker = randomBytes(6).toString('hex');
    const res = await post(`/fail?m=${marker}`, 'input');
    expect(res.status).toBe(500);
    expect(text(res.body)).not.toContain(marker);
    expect(await waitForLog(await started(), `FAILURE-${marker}`)).toContain(`FAILURE-${marker}`);
  });

  it(`${label}: stderr of a succeeding function goes to the log only`, async () => {
    const marker = randomBytes(6).toString('hex');
    const res = await post(`/stderr?m=${marker}`, 'input');
    expect(res.status).toBe(200);
    expect(text(res.body)).toBe('ok');
    expect(await waitForLog(await started(), `NOTE-${marker}`)).toContain(`NOTE-${marker}`);
  });

  it(`${label}: a function slower than its timeout gets the watchdog's timeout status`, async () => {
    const start = performance.now();
    const res = await post(`/sleep?ms=${(timeoutSeconds + 3) * 1000}`);
    const seconds = (performance.now() - start) / 1000;
    // classic-watchdog: 408 "Killed process." when exec_timeout kills the process (handler.go);
    // of-watchdog http mode: 504 when the upstream has not answered within exec_timeout
    // (executor/http_runner.go). The test environment's compatible of-watchdog (tag *-compat)
    // answers 502 instead, from its reverse proxy's default error handler: pinned here so that a
    // change on either side is noticed.
    const ofWatchdogTimeout = need('IMAGE_OF_WATCHDOG').endsWith('-compat') ? 502 : 504;
    expect(res.status).toBe(watchdog === 'classic' ? 408 : ofWatchdogTimeout);
    expect(seconds).toBeGreaterThan(timeoutSeconds - 0.5);
    expect(seconds).toBeLessThan(timeoutSeconds + 2);
  });

  it(`${label}: /_/health answers, the function runs as 65534 with a writable /tmp and its dependency`, async () => {
    const f = await started();
    const health = await fetch(`${f.url}/_/health`);
    expect(health.status).toBe(200);
    expect(await health.text()).toBe('OK');
    const user = await docker(['image', 'inspect', '--format', '{{.Config.User}}', image()]);
    expect(user.stdout.trim()).toBe('65534:65534');
    const res = await post('/whoami');
    expect(res.status).toBe(200);
    expect(JSON.parse(text(res.body))).toEqual({ uid: 65534, gid: 65534, tmp: true, dependency: true });
  });

  it(`${label}: SIGTERM stops it cleanly within the timeout, finishing the request in flight`, async () => {
    const f = await started();
    const inFlight = post(`/sleep?ms=1500`);
    await sleep(300);
    const start = performance.now();
    await docker(['kill', '--signal', 'TERM', f.name]);
    // Unhealthy at once, so a load balancer stops sending; requests already in flight still finish.
    let health = 0;
    for (let i = 0; i < 10 && health !== 503; i++) {
      health = (await fetch(`${f.url}/_/health`)).status;
      if (health !== 503) await sleep(50);
    }
    expect(health).toBe(503);
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(text(res.body)).toBe('slept');
    const exit = await docker(['wait', f.name]);
    const seconds = (performance.now() - start) / 1000;
    expect(exit.stdout.trim()).toBe('0');
    // healthcheck_interval, then at most write_timeout of draining: inside Knative's timeoutSeconds.
    const bound = parseFloat(SHUTDOWN_GRACE) + parseFloat(requestTimeouts(timeoutSeconds).write);
    expect(bound).toBeLessThanOrEqual(requestTimeouts(timeoutSeconds).knativeTimeoutSeconds);
    expect(seconds).toBeLessThan(bound);
  });
}

/** Paths in an image's file system (from `docker export` of a created container), without a leading slash. */
export async function imageFiles(image: string): Promise<Set<string>> {
  const created = await docker(['create', image]);
  const id = created.stdout.trim();
  containers.push(id);
  const listing = await new Promise<string>((resolve, reject) => {
    void dockerEnv().then((envVars) => {
      const exporter = spawn('docker', ['export', id], {
        env: envVars,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const tar = spawn('tar', ['-t'], { stdio: ['pipe', 'pipe', 'inherit'] });
      exporter.stdout.pipe(tar.stdin);
      let text = '';
      tar.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
      tar.on('close', (code) => {
        if (code === 0) resolve(text);
        else reject(new Error(`tar -t exited ${String(code)}`));
      });
      exporter.on('error', reject);
    }, reject);
  });
  return new Set(
    listing
      .split('\n')
      .map((line) => line.replace(/^\.\//, '').replace(/\/$/, ''))
      .filter((line) => line !== '' && line !== '.'),
  );
}
