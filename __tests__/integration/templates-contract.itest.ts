// Issue 5: every template (go, node, python × classic watchdog, of-watchdog http mode) built by the real
// Docker engine from the test environment's base images, run as a container and held to the watchdog
// contract over HTTP; the dependency layer reused when only the handler changes; the examples.
import { appendFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { PackagedFunction } from '../../src/package/index.js';
import { packageFunction } from '../../src/package/index.js';
import { buildFunctionSpecs, scanFunctionsDir } from '../../src/plan/discover.js';
import { parseManifest } from '../../src/plan/manifest.js';
import type { Watchdog } from '../../src/plan/types.js';
import {
  buildImages,
  buildSteps,
  contractCases,
  contractFunctions,
  docker,
  dockerBuild,
  imageFiles,
  packageDir,
  registry,
  specFor,
  startFunction,
  suffix,
  testImages,
  twoAtATime,
  workDir,
  writeFiles,
  type BuildResult,
} from './helpers/templates.js';

const repoRoot = path.resolve(import.meta.dirname, '../..');
// The function timeout of the contract containers. Every request must finish inside it, also while
// the rest of the suite builds images on the same two cores: at 3 s a 64 KiB echo was once cut off
// by the watchdog's exec timeout halfway through its answer (the connection closed after 32 KiB).
const TIMEOUT_SECONDS = 8;
type Lang = 'go' | 'node' | 'python';
const matrix: [Lang, Watchdog][] = [
  ['go', 'classic'],
  ['go', 'of-watchdog'],
  ['node', 'classic'],
  ['node', 'of-watchdog'],
  ['python', 'classic'],
  ['python', 'of-watchdog'],
];

interface Built {
  dir: string;
  packaged: PackagedFunction;
  build: BuildResult;
}

/** Builds run in the background, two at a time; each test awaits the one it needs. */
const builds = new Map<string, Promise<Built>>();
function background<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined); // reported by the test that awaits it
  return promise;
}

async function buildContract(runtime: Lang, watchdog: Watchdog): Promise<Built> {
  const dir = path.join(await workDir('contract'), `${runtime}-${watchdog}`);
  await writeFiles(dir, contractFunctions[runtime][watchdog]);
  const packaged = await packageDir(dir, specFor('contract', '', runtime, watchdog, TIMEOUT_SECONDS));
  const image = `${registry}/faas-test/contract-${runtime}-${watchdog}:${packaged.tag}`;
  return { dir, packaged, build: await twoAtATime(() => dockerBuild(packaged, image, watchdog)) };
}

const examples = Promise.resolve().then(() => {
  const discovered = buildFunctionSpecs(
    scanFunctionsDir(repoRoot, 'examples/functions'),
    { watchdog: 'classic' },
    parseManifest,
  );
  expect(discovered.problems).toEqual([]);
  return discovered.functions;
});
examples.catch(() => undefined);

beforeAll(() => {
  for (const [runtime, watchdog] of matrix) {
    builds.set(`${runtime}/${watchdog}`, background(buildContract(runtime, watchdog)));
  }
  for (const name of ['echo', 'hello-node', 'hello-python', 'hello-http']) {
    builds.set(
      `example/${name}`,
      background(
        (async () => {
          const spec = (await examples).find((fn) => fn.name === name);
          if (!spec) throw new Error(`examples/functions/${name} was not discovered`);
          const packaged = await packageFunction(repoRoot, spec, await buildImages());
          const image = `${registry}/faas-test/example-${name}:${packaged.tag}`;
          const build = await twoAtATime(() => dockerBuild(packaged, image, spec.watchdog));
          return { dir: path.join(repoRoot, spec.directory), packaged, build };
        })(),
      ),
    );
  }
});

async function built(key: string): Promise<Built> {
  const promise = builds.get(key);
  if (!promise) throw new Error(`no build for ${key}`);
  return promise;
}

/** What a final image may add to its runtime base, per template: the watchdog and the function, nothing else. */
const allowedAdditions: Record<Lang, RegExp> = {
  go: /^(usr\/bin\/fwatchdog|usr\/bin\/handler|usr\/bin\/function-server)$/,
  node: /^(usr\/bin\/fwatchdog|home|home\/app(\/.*)?|opt|opt\/faas-deploy|opt\/faas-deploy\/server\.mjs)$/,
  python: /^(usr\/bin\/fwatchdog|home|home\/app(\/.*)?|opt|opt\/faas-deploy(\/.*)?)$/,
};
const requiredFiles: Record<Lang, Record<Watchdog, string[]>> = {
  go: { classic: ['usr/bin/handler'], 'of-watchdog': ['usr/bin/function-server'] },
  node: {
    classic: ['home/app/index.js', 'home/app/node_modules/is-number/index.js'],
    'of-watchdog': [
      'home/app/handler.js',
      'home/app/node_modules/is-number/index.js',
      'opt/faas-deploy/server.mjs',
    ],
  },
  python: {
    classic: ['home/app/handler.py', 'opt/faas-deploy/python/six.py'],
    'of-watchdog': ['home/app/handler.py', 'opt/faas-deploy/python/six.py', 'opt/faas-deploy/server.py'],
  },
};
const baseFiles = new Map<string, Promise<Set<string>>>();

for (const [runtime, watchdog] of matrix) {
  const label = `${runtime}/${watchdog}`;
  let image = '';
  describe(`template ${label} (Docker engine)`, () => {
    it(`${label}: builds from the local base images; the final image adds only the watchdog and the function`, async () => {
      const { build, packaged } = await built(label);
      image = build.image;
      expect(packaged.template).toBe(label);
      expect(build.output).toContain('Successfully built');
      const labels = await docker(['image', 'inspect', '--format', '{{json .Config.Labels}}', image]);
      expect(JSON.parse(labels.stdout)).toMatchObject({ 'dev.faas-deploy.template': `${label}@v2` });

      const baseImage =
        runtime === 'go'
          ? testImages.runtime
          : runtime === 'node'
            ? testImages.nodeRuntime
            : testImages.pythonRuntime;
      if (!baseFiles.has(baseImage)) baseFiles.set(baseImage, imageFiles(baseImage));
      const base = (await baseFiles.get(baseImage)) as Set<string>;
      const files = await imageFiles(image);
      const added = [...files].filter((file) => !base.has(file));
      expect(added.filter((file) => !allowedAdditions[runtime].test(file))).toEqual([]);
      for (const file of ['usr/bin/fwatchdog', ...requiredFiles[runtime][watchdog]])
        expect(added).toContain(file);
      // No build tool or cache came along: nothing from the build stages but what is copied on purpose
      // (pip's compiled bytecode of the installed packages is part of them; none for the function's files).
      expect(added.filter((file) => /(^|\/)(\.npm|npm-cache|\.cache|go-build|pip)(\/|$)/.test(file))).toEqual(
        [],
      );
      expect(added.filter((file) => file.startsWith('home/app/') && file.includes('__pycache__'))).toEqual(
        [],
      );

      const size = async (ref: string) =>
        Number((await docker(['image', 'inspect', '--format', '{{.Size}}', ref])).stdout.trim());
      const growth = (await size(image)) - (await size(baseImage));
      expect(growth).toBeGreaterThan(0);
      expect(growth).toBeLessThan(30 * 1024 * 1024);
    }, 1_500_000);

    contractCases(label, watchdog, () => image, TIMEOUT_SECONDS);
  });
}

describe('dependency layer reuse (Docker engine)', () => {
  const depStep: Record<Lang, RegExp> = {
    go: /^RUN go mod download$/,
    node: /^RUN npm ci /,
    python: /^RUN python3 -m pip install /,
  };
  const handlerFile: Record<Lang, string> = { go: 'main.go', node: 'index.js', python: 'handler.py' };

  it.each(['go', 'node', 'python'] as const)(
    '%s/classic: changing only the handler rebuilds from the cached dependency layer',
    async (runtime) => {
      const first = await built(`${runtime}/classic`);
      await appendFile(
        path.join(first.dir, handlerFile[runtime]),
        // Unique per run: an earlier run's layers must not make the COPY look cached.
        `${runtime === 'python' ? '#' : '//'} changed in run ${suffix}\n`,
      );
      const packaged = await packageDir(
        first.dir,
        specFor('contract', '', runtime, 'classic', TIMEOUT_SECONDS),
      );
      expect(packaged.tag).not.toBe(first.packaged.tag);
      const image = `${registry}/faas-test/contract-${runtime}-classic:${packaged.tag}`;
      const second = await twoAtATime(() => dockerBuild(packaged, image, 'classic'));
      const steps = buildSteps(second.output);
      const deps = steps.filter((step) => depStep[runtime].test(step.instruction));
      expect(deps).toHaveLength(1);
      expect(deps[0]?.cached, second.output).toBe(true);
      const copy = steps.find((step) => step.instruction === 'COPY function/ ./');
      expect(copy?.cached, second.output).toBe(false);
      // The rebuilt image still answers.
      const fn = await startFunction(image, 'classic');
      const res = await fetch(`${fn.url}/echo`, { method: 'POST', body: 'again' });
      expect(await res.text()).toBe('again');
      await docker(['rm', '-f', fn.name]);
    },
    1_500_000,
  );
});

describe('examples/functions (Docker engine)', () => {
  const call = async (name: string, watchdog: Watchdog, init: RequestInit & { path?: string }) => {
    const { build } = await built(`example/${name}`);
    const fn = await startFunction(build.image, watchdog);
    try {
      const res = await fetch(`${fn.url}${init.path ?? '/'}`, init);
      return { status: res.status, text: await res.text() };
    } finally {
      await docker(['rm', '-f', fn.name]);
    }
  };

  it('are discovered with the runtimes and watchdogs they are meant to show', async () => {
    const specs = await examples;
    expect(specs.map((fn) => `${fn.name}:${fn.runtime}/${fn.watchdog}`).sort()).toEqual([
      'echo:go/classic',
      'hello-http:node/of-watchdog',
      'hello-node:node/classic',
      'hello-python:python/classic',
    ]);
  });

  it('echo, the seed function (Go, stdin to stdout), works unchanged with the Go classic template', async () => {
    expect(await call('echo', 'classic', { method: 'POST', body: '{"Name": "Foo"}' })).toEqual({
      status: 200,
      text: '{"Name": "Foo"}',
    });
  }, 1_500_000);

  it('hello-node (Node classic) greets the body', async () => {
    expect(await call('hello-node', 'classic', { method: 'POST', body: 'Ada' })).toEqual({
      status: 200,
      text: 'Hello, Ada! (POST request)\n',
    });
  }, 1_500_000);

  it('hello-python (Python classic) counts words', async () => {
    const res = await call('hello-python', 'classic', { method: 'POST', body: 'one two three' });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toEqual({ words: 3, characters: 13, method: 'POST' });
  }, 1_500_000);

  it('hello-http (Node, of-watchdog) answers with JSON and sets its own status', async () => {
    const ok = await call('hello-http', 'of-watchdog', { method: 'GET', path: '/hi?name=Ada' });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.text)).toEqual({ greeting: 'Hello, Ada!', path: '/hi' });
    expect(await call('hello-http', 'of-watchdog', { method: 'DELETE' })).toEqual({
      status: 405,
      text: 'Method Not Allowed\n',
    });
  }, 1_500_000);
});
