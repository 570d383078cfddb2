// Build stage figures on the test environment (scripts/test-env): the Go template's echo function built
// and pushed by the in-runner kaniko builder versus a plain `docker build` + `docker push` of the same
// Dockerfile and context on the same engine, cold and warm cache, as ratios from one run; the skip path
// for 10 unchanged functions; and the Tekton builder's overhead over in-runner kaniko for the same build.
// Usage: node bench/build.mjs   (needs `scripts/test-env/test-env up`; the Tekton rows need its kube half)
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { testEnvValues as sharedTestEnv } from './test-env.mjs';
import { performance } from 'node:perf_hooks';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const out = path.join(root, 'bench', 'out');

/** The stages under test, bundled from src/ (Node cannot import the .ts sources with .js specifiers). */
async function loadStages() {
  const entry = path.join(out, 'build-entry.ts');
  writeFileSync(
    entry,
    [
      "export { buildImages } from '../../src/build/index.ts';",
      "export { connectKube } from '../../src/kube/index.ts';",
      "export { packageFunction, writeBuildContext } from '../../src/package/index.ts';",
      "export { resolveBaseImages } from '../../src/package/base-images.ts';",
      '',
    ].join('\n'),
  );
  const outfile = path.join(out, 'build-stages.mjs');
  await build({
    absWorkingDir: root,
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node24',
    packages: 'external',
    logLevel: 'warning',
  });
  return import(`${outfile}?${Date.now()}`);
}

const testEnvValues = () =>
  sharedTestEnv(['DOCKER_HOST', 'REGISTRY', 'REGISTRY_AUTH', 'IMAGE_KANIKO', 'IMAGE_GO_BUILDER']);

const quietLog = { info() {}, warning() {}, group() {}, secret() {} };
const seconds = (ms) => Math.round(ms / 100) / 10;

/** Times `fn` once, in milliseconds. */
async function timed(fn) {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

function spec(name, directory, runtime = 'go') {
  return {
    name,
    directory,
    runtime,
    watchdog: 'classic',
    env: {},
    secrets: [],
    scale: {},
    timeoutSeconds: 30,
    resources: {},
    visibility: 'public',
  };
}

/**
 * Measures; returns the figures. Options: reproducible (kaniko --reproducible, default true), tekton (default: when
 * the environment has a kube half).
 */
export async function buildBenchmark(options = {}) {
  const env = testEnvValues();
  const stages = await loadStages();
  const run = randomBytes(3).toString('hex');
  const ws = mkdtempSync(path.join(tmpdir(), 'faas-bench-build-'));
  const dockerConfig = path.join(ws, '.docker');
  const dockerEnv = {
    ...process.env,
    DOCKER_HOST: env.DOCKER_HOST,
    DOCKER_CONFIG: dockerConfig,
    DOCKER_BUILDKIT: '0',
  };
  const docker = (args, input) => {
    const r = spawnSync('docker', args, { env: dockerEnv, input, encoding: 'utf8', maxBuffer: 1 << 26 });
    if (r.status !== 0) throw new Error(`docker ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  docker(
    ['login', '--username', env.REGISTRY_AUTH_USER, '--password-stdin', env.REGISTRY_AUTH],
    env.REGISTRY_AUTH_PASSWORD,
  );
  const images = stages.resolveBaseImages({
    builder: env.IMAGE_GO_BUILDER,
    runtime: env.IMAGE_RUNTIME,
    watchdog: env.IMAGE_CLASSIC_WATCHDOG,
  });
  cpSync(path.join(root, 'examples/functions/echo'), path.join(ws, 'functions/echo'), { recursive: true });
  const mainGo = path.join(ws, 'functions/echo/main.go');
  const original = readFileSync(mainGo, 'utf8');
  let edits = 0;
  /** The echo function packaged, after an edit that changes the code (and so the content tag). */
  const nextEcho = async (registry) => {
    writeFileSync(mainGo, `${original}\n// bench edit ${run} ${edits++}\n`);
    const p = await stages.packageFunction(ws, spec('echo', 'functions/echo'), images);
    return { name: 'echo', image: `${registry}/echo:${p.tag}`, ...p };
  };
  const settings = (registry, extra = {}) => ({
    builder: 'kaniko',
    registry,
    registryUsername: env.REGISTRY_AUTH_USER,
    registryPassword: env.REGISTRY_AUTH_PASSWORD,
    kanikoImage: env.IMAGE_KANIKO,
    concurrency: 4,
    namespace: env.KUBE_NAMESPACE ?? 'default',
    tektonServiceAccount: '',
    registrySecret: '',
    dockerEnv,
    reproducible: options.reproducible ?? true,
    ...extra,
  });
  const buildOne = async (request, s) => {
    const { ms, value } = await timed(() => stages.buildImages([request], s, { log: quietLog }));
    const result = value.get(request.name);
    if (result?.status !== 'built') throw new Error(`${request.name}: ${JSON.stringify(result)}`);
    return ms;
  };
  const figures = { run, reproducible: options.reproducible ?? true };
  try {
    // kaniko in the runner: an empty cache repository (cold), then a code edit with the cache filled (warm).
    const kanikoRegistry = `${env.REGISTRY_AUTH}/bench-kaniko-${run}`;
    figures.kanikoCold = await buildOne(await nextEcho(kanikoRegistry), settings(kanikoRegistry));
    figures.kanikoWarm = await buildOne(await nextEcho(kanikoRegistry), settings(kanikoRegistry));

    // docker build + push of the same Dockerfile and context: --no-cache (cold), then the same edit (warm).
    const dockerRegistry = `${env.REGISTRY_AUTH}/bench-docker-${run}`;
    const dockerBuild = async (noCache) => {
      const request = await nextEcho(dockerRegistry);
      const context = path.join(ws, `ctx-${edits}`);
      await stages.writeBuildContext(request, context);
      const { ms } = await timed(async () => {
        docker([
          'build', '--network', 'host', ...(noCache ? ['--no-cache'] : []), '-q',
          '-f', path.join(context, request.dockerfilePath), '-t', request.image, context,
        ]); // prettier-ignore
        docker(['push', '-q', request.image]);
      });
      return ms;
    };
    figures.dockerCold = await dockerBuild(true);
    figures.dockerWarm = await dockerBuild(false);

    // The skip path: 10 functions whose tags exist; median of 5 runs of the whole stage.
    const small = [];
    for (let i = 0; i < 10; i++) {
      const dir = `functions/small-${i}`;
      execFileSync('mkdir', ['-p', path.join(ws, dir)]);
      writeFileSync(path.join(ws, dir, 'Dockerfile'), `FROM ${env.IMAGE_RUNTIME}\nCOPY n.txt /n.txt\n`);
      writeFileSync(path.join(ws, dir, 'n.txt'), `${run} ${i}\n`);
      const p = await stages.packageFunction(ws, spec(`small-${i}`, dir, 'dockerfile'), images);
      small.push({ name: `small-${i}`, image: `${kanikoRegistry}/small-${i}:${p.tag}`, ...p });
    }
    const seeded = await timed(() => stages.buildImages(small, settings(kanikoRegistry), { log: quietLog }));
    figures.kanikoTenSmall = seeded.ms;
    const skips = [];
    for (let i = 0; i < 5; i++) {
      const { ms, value } = await timed(() =>
        stages.buildImages(small, settings(kanikoRegistry), { log: quietLog }),
      );
      if ([...value.values()].some((r) => r.status !== 'skipped'))
        throw new Error('skip path built something');
      skips.push(ms);
    }
    figures.skipTen = skips.sort((a, b) => a - b)[2];

    // Tekton: the same kind of warm build (another edit, same cache) and one trivial image, both ways.
    const tekton = options.tekton ?? Boolean(env.KUBECONFIG_DEPLOYER);
    if (tekton) {
      // The one connection main opens, from KUBECONFIG; its kubeconfig file (none for KUBECONFIG) would go in ws.
      const kube = await stages.connectKube({
        kubeconfig: '',
        tempDir: ws,
        secret: () => {},
        env: { KUBECONFIG: env.KUBECONFIG_DEPLOYER },
      });
      const tektonSettings = settings(kanikoRegistry, {
        builder: 'tekton',
        kube,
        namespace: env.KUBE_NAMESPACE,
        toolsImage: env.IMAGE_RUNTIME,
      });
      figures.tektonWarm = await buildOne(await nextEcho(kanikoRegistry), tektonSettings);
      figures.kanikoWarm2 = await buildOne(await nextEcho(kanikoRegistry), settings(kanikoRegistry));
      const trivial = async (tag) => {
        const dir = `functions/trivial-${tag}`;
        execFileSync('mkdir', ['-p', path.join(ws, dir)]);
        writeFileSync(path.join(ws, dir, 'Dockerfile'), `FROM ${env.IMAGE_RUNTIME}\nCOPY t.txt /t.txt\n`);
        writeFileSync(path.join(ws, dir, 't.txt'), `${run} ${tag}\n`);
        const p = await stages.packageFunction(ws, spec('trivial', dir, 'dockerfile'), images);
        return { name: 'trivial', image: `${kanikoRegistry}/trivial:${p.tag}`, ...p };
      };
      figures.kanikoTrivial = await buildOne(await trivial('k'), settings(kanikoRegistry));
      figures.tektonTrivial = await buildOne(await trivial('t'), tektonSettings);
      await kube.close();
    }
  } finally {
    rmSync(ws, { recursive: true, force: true });
  }
  return figures;
}

export function buildMarkdown(f) {
  const row = (what, ms, note = '') => `| ${what} | ${seconds(ms)} s | ${note} |`;
  const ratio = (a, b) => `${(a / b).toFixed(2)}×`;
  const lines = [
    '## Build stage',
    '',
    `Go template, echo function (\`examples/functions/echo\`, classic watchdog), built and pushed to the test environment's basic-auth registry on the same Docker engine, one run, kaniko ${f.reproducible ? 'with' : 'without'} --reproducible. Cold: kaniko with an empty cache repository (\`<registry>/cache\`), docker with \`--no-cache\` (base images already in the engine's store; kaniko pulls them from the local registry on every build). Warm: after a code edit, cache filled. docker is the legacy builder (\`DOCKER_BUILDKIT=0\`), as the test environment's engine runs it.`,
    '',
    '| build + push | time | |',
    '| --- | --- | --- |',
    row('kaniko in the runner, cold', f.kanikoCold, `${ratio(f.kanikoCold, f.dockerCold)} docker cold`),
    row('kaniko in the runner, warm', f.kanikoWarm, `${ratio(f.kanikoWarm, f.dockerWarm)} docker warm`),
    row('docker build + docker push, cold', f.dockerCold),
    row('docker build + docker push, warm', f.dockerWarm),
    row('kaniko, 10 small functions (concurrency 4)', f.kanikoTenSmall),
    row('skip path: 10 unchanged functions (registry lookups only)', f.skipTen, 'median of 5'),
  ];
  if (f.tektonWarm !== undefined) {
    lines.push(
      row(
        'Tekton TaskRun (stand-in), echo warm',
        f.tektonWarm,
        `overhead ${seconds(f.tektonWarm - f.kanikoWarm2)} s over in-runner kaniko warm (${seconds(f.kanikoWarm2)} s)`,
      ),
      row(
        'Tekton TaskRun (stand-in), one-layer image',
        f.tektonTrivial,
        `overhead ${seconds(f.tektonTrivial - f.kanikoTrivial)} s over in-runner kaniko (${seconds(f.kanikoTrivial)} s)`,
      ),
    );
  }
  lines.push(
    '',
    "The Tekton rows run against the test environment's Tekton stand-in (steps as containers on the same engine, no pod scheduling or image pulls by a kubelet), so they show the action's own overhead — context upload, TaskRun creation, watch, log read, clean-up — not a real cluster's.",
  );
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const figures = await buildBenchmark({ reproducible: !process.argv.includes('--no-reproducible') });
  console.log(JSON.stringify(figures));
  console.log(buildMarkdown(figures));
}
