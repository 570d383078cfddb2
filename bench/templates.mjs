// Image size and build time per template (go, node, python × classic, of-watchdog), built by the
// test environment's Docker engine from its local base images: a cold build (no layer cache; the base
// images are already local), a warm build after changing only the handler (the dependency layer
// comes from the cache), the final image's size and what it adds to its base, and the time from
// `docker run` to the first answered request. Brings up the test environment's container half
// (scripts/test-env/containers.sh up, idempotent) and uses its base images.
// Usage: node bench/templates.mjs [runs]
import { execFile, execFileSync } from 'node:child_process';
import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const out = path.join(root, 'bench', 'out');

/** src/package and the contract functions of the integration tests, bundled for plain Node. */
async function loadModules() {
  mkdirSync(out, { recursive: true });
  const entry = path.join(out, 'templates-entry.ts');
  writeFileSync(
    entry,
    [
      "export { packageFunction, writeBuildContext } from '../../src/package/index.ts';",
      "export { contractFunctions } from '../../__tests__/integration/helpers/contract-functions.ts';",
      '',
    ].join('\n'),
  );
  const outfile = path.join(out, 'templates-modules.mjs');
  await build({
    absWorkingDir: root,
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node24',
    logLevel: 'warning',
    banner: {
      js: "import { createRequire as __r } from 'node:module'; const require = __r(import.meta.url);",
    },
  });
  return import(outfile);
}

/** The container half of the test environment (the Docker engine, registries, base images). */
function testEnv() {
  const script = path.join(root, 'scripts', 'test-env', 'containers.sh');
  execFileSync(script, ['up'], { stdio: ['ignore', 'inherit', 'inherit'] });
  const env = {};
  for (const line of execFileSync(script, ['env'], { encoding: 'utf8' }).split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) env[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return env;
}

function run(file, args, env) {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env, maxBuffer: 256 << 20, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${file} ${args.join(' ')}: ${err.message}\n${stderr}${stdout}`));
      else resolve(stdout);
    });
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const seconds = (start) => (performance.now() - start) / 1000;

export async function templatesBenchmark(runs = 3) {
  const env = testEnv();
  const modules = await loadModules();
  const work = mkdtempSync(path.join(tmpdir(), 'faas-bench-templates-'));
  const dockerEnv = {
    ...process.env,
    DOCKER_HOST: env.DOCKER_HOST,
    DOCKER_CONFIG: path.join(work, 'docker-config'),
    DOCKER_BUILDKIT: '0',
  };
  mkdirSync(dockerEnv.DOCKER_CONFIG);
  const docker = (...args) => run('docker', args, dockerEnv);
  // The dependency stages download from the package registries; this machine reaches them through a
  // TLS-intercepting proxy only the host trusts, so they get the host's CA bundle on top (as the
  // integration tests do). The final images are the environment's, unchanged.
  const withHostCa = async (base, key) => {
    const dir = mkdtempSync(path.join(work, `ca-${key}-`));
    copyFileSync(process.env.SSL_CERT_FILE ?? '/etc/ssl/certs/ca-certificates.crt', path.join(dir, 'ca.crt'));
    const file = '/etc/faas-bench/ca.crt';
    writeFileSync(
      path.join(dir, 'Dockerfile'),
      `ARG BASE\nFROM \${BASE}\nCOPY ca.crt ${file}\nENV SSL_CERT_FILE=${file} NODE_EXTRA_CA_CERTS=${file} PIP_CERT=${file}\n`,
    );
    const tag = `faas-bench/builder-ca-${key}:latest`;
    await docker(
      'build',
      '--network',
      'host',
      '--pull=false',
      '-q',
      '--build-arg',
      `BASE=${base}`,
      '-t',
      tag,
      dir,
    );
    return tag;
  };
  const images = {
    builder: env.IMAGE_GO_BUILDER,
    runtime: env.IMAGE_RUNTIME,
    watchdog: env.IMAGE_CLASSIC_WATCHDOG,
    ofWatchdog: env.IMAGE_OF_WATCHDOG,
    node: env.IMAGE_NODE,
    nodeRuntime: env.IMAGE_NODE,
    python: env.IMAGE_PYTHON,
    pythonRuntime: env.IMAGE_PYTHON,
  };
  images.builder = await withHostCa(images.builder, 'golang');
  images.node = await withHostCa(images.node, 'node');
  images.python = await withHostCa(images.python, 'python');
  const base = { go: images.runtime, node: images.nodeRuntime, python: images.pythonRuntime };
  const handler = { go: ['main.go', 'handler.go'], node: ['index.js', 'handler.js'], python: ['handler.py'] };
  const sizeOf = async (ref) =>
    Number((await docker('image', 'inspect', '--format', '{{.Size}}', ref)).trim());

  const dockerBuild = async (packaged, tag, extra) => {
    const context = mkdtempSync(path.join(work, 'ctx-'));
    const dockerfile = await modules.writeBuildContext(packaged, context);
    const start = performance.now();
    await docker(
      'build',
      '--network',
      'host',
      '--pull=false',
      '-q',
      ...extra,
      '-f',
      path.join(context, dockerfile),
      '-t',
      tag,
      context,
    );
    return seconds(start);
  };

  const rows = [];
  try {
    for (const runtime of ['go', 'node', 'python']) {
      for (const watchdog of ['classic', 'of-watchdog']) {
        const dir = path.join(work, `${runtime}-${watchdog}`);
        for (const [name, text] of Object.entries(modules.contractFunctions[runtime][watchdog])) {
          mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
          writeFileSync(path.join(dir, name), text);
        }
        const spec = {
          name: 'bench',
          directory: path.basename(dir),
          runtime,
          watchdog,
          env: {},
          secrets: [],
          scale: {},
          timeoutSeconds: 30,
          resources: {},
          visibility: 'public',
        };
        const cold = [];
        const warm = [];
        const start = [];
        let image = '';
        for (let i = 0; i < runs; i++) {
          const packaged = await modules.packageFunction(work, spec, images);
          image = `faas-bench/${runtime}-${watchdog}:${packaged.tag}`;
          cold.push(await dockerBuild(packaged, image, ['--no-cache']));
          const file = handler[runtime].find((f) => f in modules.contractFunctions[runtime][watchdog]);
          appendFileSync(path.join(dir, file), runtime === 'python' ? `# run ${i}\n` : `// run ${i}\n`);
          const changed = await modules.packageFunction(work, spec, images);
          warm.push(await dockerBuild(changed, `faas-bench/${runtime}-${watchdog}:${changed.tag}`, []));

          const port = await freePort();
          const args = ['run', '-d', '--network', 'host', '-e', `port=${port}`];
          if (watchdog === 'of-watchdog')
            args.push('-e', `upstream_url=http://127.0.0.1:${await freePort()}`);
          const t0 = performance.now();
          const id = (await docker(...args, image)).trim();
          try {
            for (;;) {
              try {
                const res = await globalThis.fetch(`http://127.0.0.1:${port}/echo`, {
                  method: 'POST',
                  body: 'x',
                });
                if (res.status === 200 && (await res.text()) === 'x') break;
              } catch {
                // not listening yet
              }
              if (seconds(t0) > 30) throw new Error(`${image} did not answer in 30 s`);
              await delay(10);
            }
            start.push(seconds(t0));
          } finally {
            await docker('rm', '-f', id);
          }
        }
        const size = await sizeOf(image);
        rows.push({
          template: `${runtime}/${watchdog}`,
          size,
          added: size - (await sizeOf(base[runtime])),
          cold: median(cold),
          warm: median(warm),
          start: median(start),
        });
        console.error(`templates: ${runtime}/${watchdog} done`);
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return { runs, rows, images };
}

export function templatesMarkdown(result) {
  const mib = (bytes) => (bytes / 2 ** 20).toFixed(1);
  return [
    '## Function images per template',
    '',
    `Command: \`node bench/templates.mjs\` (part of \`npm run bench\`). Each template builds the contract function of the integration tests (a real dependency each: github.com/google/uuid, is-number, six) with the test environment's Docker engine (legacy builder, \`--network host\`), ${result.runs} times; medians. *Cold*: \`--no-cache\`, base images already local, dependencies downloaded from the registries. *Warm*: the same function with only the handler changed, so the dependency layer comes from the cache (Go still compiles: the build cache does not outlive a build stage). *Start*: \`docker run\` to the first answered request. Base images are the test environment's (${result.images.runtime} for Go, ${result.images.nodeRuntime} and ${result.images.pythonRuntime} for Node and Python, which keep npm/pip: the defaults for users are distroless and smaller).`,
    '',
    '| template | final image (MiB) | added to base (MiB) | cold build (s) | warm build (s) | start (s) |',
    '| --- | --- | --- | --- | --- | --- |',
    ...result.rows.map(
      (r) =>
        `| ${r.template} | ${mib(r.size)} | ${mib(r.added)} | ${r.cold.toFixed(1)} | ${r.warm.toFixed(1)} | ${r.start.toFixed(2)} |`,
    ),
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await templatesBenchmark(Number(process.argv[2] ?? 3));
  console.log(templatesMarkdown(result));
}
