// Issue 5: the same generated Dockerfiles built by the kaniko executor image (as the action's kaniko
// builder runs it: context mounted read-only, pushed to the registry, digest file), one runtime per
// watchdog, pass the same contract; kaniko's layer cache reuses the dependency layer when only the
// handler changes.
import { appendFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { PackagedFunction } from '../../src/package/index.js';
import type { Watchdog } from '../../src/plan/types.js';
import {
  contractCases,
  contractFunctions,
  docker,
  kanikoBuild,
  packageDir,
  registry,
  specFor,
  startFunction,
  suffix,
  twoAtATime,
  workDir,
  writeFiles,
} from './helpers/templates.js';

const TIMEOUT_SECONDS = 3;
type Lang = 'go' | 'node' | 'python';
const matrix: [Lang, Watchdog][] = [
  ['go', 'classic'],
  ['python', 'of-watchdog'],
];

interface Built {
  dir: string;
  packaged: PackagedFunction;
  image: string;
  digest: string;
  output: string;
  cacheRepo: string;
}

const builds = new Map<string, Promise<Built>>();

async function build(runtime: Lang, watchdog: Watchdog): Promise<Built> {
  const dir = path.join(await workDir('kaniko-fn'), `${runtime}-${watchdog}`);
  await writeFiles(dir, contractFunctions[runtime][watchdog]);
  const packaged = await packageDir(dir, specFor('contract', '', runtime, watchdog, TIMEOUT_SECONDS));
  // A cache repository of this run only, so the first build is cold and the second one can only be
  // warm because of the first.
  const cacheRepo = `faas-test/kaniko-cache-${runtime}-${suffix}`;
  const result = await twoAtATime(() =>
    kanikoBuild(packaged, `faas-test/kaniko-${runtime}-${watchdog}`, watchdog, { cacheRepo }),
  );
  await docker(['pull', '-q', result.image]);
  return { dir, packaged, image: result.image, digest: result.digest, output: result.output, cacheRepo };
}

beforeAll(() => {
  for (const [runtime, watchdog] of matrix) {
    const promise = build(runtime, watchdog);
    promise.catch(() => undefined); // reported by the test that awaits it
    builds.set(`${runtime}/${watchdog}`, promise);
  }
});

async function built(key: string): Promise<Built> {
  const promise = builds.get(key);
  if (!promise) throw new Error(`no build for ${key}`);
  return promise;
}

for (const [runtime, watchdog] of matrix) {
  const label = `${runtime}/${watchdog}`;
  let image = '';
  describe(`template ${label} (kaniko)`, () => {
    it(`${label}: kaniko builds the generated Dockerfile and pushes it; the registry has the digest`, async () => {
      const result = await built(label);
      image = result.image;
      expect(result.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      const repository = `faas-test/kaniko-${runtime}-${watchdog}`;
      const head = await fetch(`http://${registry}/v2/${repository}/manifests/${result.packaged.tag}`, {
        method: 'HEAD',
        headers: {
          Accept:
            'application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json',
        },
      });
      expect(head.status).toBe(200);
      expect(head.headers.get('docker-content-digest')).toBe(result.digest);
      const config = await docker(['image', 'inspect', '--format', '{{json .Config}}', image]);
      const parsed = JSON.parse(config.stdout) as { User: string; Entrypoint: string[]; Env: string[] };
      expect(parsed.User).toBe('65534:65534');
      expect(parsed.Entrypoint).toEqual(['/usr/bin/fwatchdog']);
      expect(parsed.Env).toContain(`exec_timeout=${TIMEOUT_SECONDS}s`);
      // The cold build found nothing in this run's cache repository and filled it.
      expect(result.output).toMatch(/No cached layer found for cmd RUN/);
    }, 1_500_000);

    contractCases(label, watchdog, () => image, TIMEOUT_SECONDS);
  });
}

describe('dependency layer reuse (kaniko --cache)', () => {
  it('python/of-watchdog: changing only the handler takes the pip layer from the cache repository', async () => {
    const first = await built('python/of-watchdog');
    expect(first.output).toMatch(/No cached layer found for cmd RUN python3 -m pip install/);
    await appendFile(path.join(first.dir, 'handler.py'), `# changed in run ${suffix}\n`);
    const packaged = await packageDir(
      first.dir,
      specFor('contract', '', 'python', 'of-watchdog', TIMEOUT_SECONDS),
    );
    expect(packaged.tag).not.toBe(first.packaged.tag);
    const second = await twoAtATime(() =>
      kanikoBuild(packaged, 'faas-test/kaniko-python-of-watchdog', 'of-watchdog', {
        cacheRepo: first.cacheRepo,
      }),
    );
    expect(second.output, second.output).toMatch(/Using caching version of cmd: RUN python3 -m pip install/);
    expect(second.digest).not.toBe(first.digest);
    await docker(['pull', '-q', second.image]);
    const fn = await startFunction(second.image, 'of-watchdog');
    const res = await fetch(`${fn.url}/echo`, { method: 'POST', body: 'cached' });
    expect(await res.text()).toBe('cached');
    await docker(['rm', '-f', fn.name]);
  }, 1_500_000);
});
