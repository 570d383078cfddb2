import { chmodSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_BASE_IMAGES } from '../../../src/package/base-images.js';
import { readBuildContext } from '../../../src/package/build-context.js';
import { packageFunction } from '../../../src/package/index.js';
import { loadTemplate } from '../../../src/package/template.js';
import type { FunctionSpec, Runtime, Watchdog } from '../../../src/plan/types.js';

/*
 * Pins the content tag of fixed function directories. The tags were taken from the packaging code
 * before templates were cached and files read concurrently: a faster read must not change any tag
 * (every image would be rebuilt, and equal inputs would no longer give equal tags).
 */

function spec(runtime: Runtime, watchdog: Watchdog, directory: string): FunctionSpec {
  return {
    name: 'pinned',
    directory,
    runtime,
    watchdog,
    env: {},
    secrets: [],
    scale: {},
    timeoutSeconds: 30,
    resources: {},
    visibility: 'public',
  };
}

/** A repository with fixed functions: nested directories, modes, a symlink, .dockerignore, excluded files. */
function makeRepo(): string {
  const root = mkdtempSync(path.join(tmpdir(), 'faas-pin-'));
  const write = (rel: string, text: string | Buffer, mode = 0o644): void => {
    const full = path.join(root, rel);
    mkdirSync(path.dirname(full), { recursive: true });
    writeFileSync(full, text);
    chmodSync(full, mode);
  };
  // go/classic
  write('functions/go-fn/go.mod', 'module example.com/pinned\n\ngo 1.22\n');
  write('functions/go-fn/go.sum', '');
  write('functions/go-fn/main.go', 'package main\n\nfunc main() { println("pinned") }\n');
  write('functions/go-fn/function.yaml', 'name: pinned\nruntime: go\n');
  write('functions/go-fn/run.sh', '#!/bin/sh\necho hi\n', 0o755);
  write('functions/go-fn/.dockerignore', 'secret*\ndocs/\n!docs/keep.md\n');
  write('functions/go-fn/secret.txt', 'do not ship\n');
  write('functions/go-fn/docs/drop.md', 'dropped\n');
  write('functions/go-fn/docs/keep.md', 'kept\n');
  write('functions/go-fn/.git/HEAD', 'ref: refs/heads/main\n');
  for (let i = 0; i < 40; i++) {
    write(`functions/go-fn/lib/sub${i % 4}/file-${String(i).padStart(2, '0')}.go`, `package lib // ${i}\n`);
  }
  write('functions/go-fn/bin.dat', Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 37) % 256)));
  symlinkSync('main.go', path.join(root, 'functions/go-fn/link.go'));
  mkdirSync(path.join(root, 'functions/go-fn/empty'));
  // node/of-watchdog
  write('functions/node-fn/package.json', '{"name":"pinned","main":"src/handler.js"}');
  write('functions/node-fn/package-lock.json', '{}');
  write('functions/node-fn/src/handler.js', 'module.exports = async () => "pinned";\n');
  write('functions/node-fn/node_modules/x/index.js', 'left out\n');
  // python/classic
  write('functions/py-fn/handler.py', 'print("pinned")\n');
  write('functions/py-fn/requirements.txt', 'six\n');
  write('functions/py-fn/pkg/__pycache__/x.pyc', 'left out\n');
  write('functions/py-fn/pkg/__init__.py', '');
  // dockerfile
  write('functions/own-fn/Dockerfile', 'FROM scratch\nCOPY app /app\n');
  write('functions/own-fn/app', 'binary\n', 0o755);
  return root;
}

describe('content tag pin', () => {
  const root = makeRepo();
  const cases: [Runtime, Watchdog, string, string][] = [
    ['go', 'classic', 'functions/go-fn', 'ctx-577b3675ae3694b1a37a79018a06434e'],
    ['go', 'of-watchdog', 'functions/go-fn', 'ctx-4370fb4f428c964d59f96467fbc16d2d'],
    ['node', 'of-watchdog', 'functions/node-fn', 'ctx-afe08b3e895d6ad06d1caa0d5493fdd3'],
    ['node', 'classic', 'functions/node-fn', 'ctx-8637c1242e0aa1be7d29c067edc08572'],
    ['python', 'classic', 'functions/py-fn', 'ctx-5712c961520d07e10a7aedbffdcc4292'],
    ['python', 'of-watchdog', 'functions/py-fn', 'ctx-f3e59cde3a0b9c0b7a6a566c3385c57b'],
    ['dockerfile', 'classic', 'functions/own-fn', 'ctx-6701ae3b7d4b46d850aac488a1847616'],
  ];

  it.each(cases)('%s/%s of %s keeps its tag', async (runtime, watchdog, directory, tag) => {
    const packaged = await packageFunction(root, spec(runtime, watchdog, directory), DEFAULT_BASE_IMAGES);
    expect(packaged.tag).toBe(tag);
    // Packaging twice (a cached template the second time) gives the same tag and entries.
    const again = await packageFunction(root, spec(runtime, watchdog, directory), DEFAULT_BASE_IMAGES);
    expect(again.tag).toBe(tag);
    expect(again.entries).toEqual(packaged.entries);
  });

  it('lists the go function as before: paths, kinds, modes', () => {
    const entries = readBuildContext(path.join(root, 'functions/go-fn'));
    expect(entries.map((e) => `${e.kind}:${e.executable ? 'x' : '-'}:${e.path}`)).toMatchInlineSnapshot(`
      [
        "file:-:.dockerignore",
        "file:-:bin.dat",
        "file:-:docs/keep.md",
        "dir:-:empty",
        "file:-:function.yaml",
        "file:-:go.mod",
        "file:-:go.sum",
        "dir:-:lib",
        "dir:-:lib/sub0",
        "file:-:lib/sub0/file-00.go",
        "file:-:lib/sub0/file-04.go",
        "file:-:lib/sub0/file-08.go",
        "file:-:lib/sub0/file-12.go",
        "file:-:lib/sub0/file-16.go",
        "file:-:lib/sub0/file-20.go",
        "file:-:lib/sub0/file-24.go",
        "file:-:lib/sub0/file-28.go",
        "file:-:lib/sub0/file-32.go",
        "file:-:lib/sub0/file-36.go",
        "dir:-:lib/sub1",
        "file:-:lib/sub1/file-01.go",
        "file:-:lib/sub1/file-05.go",
        "file:-:lib/sub1/file-09.go",
        "file:-:lib/sub1/file-13.go",
        "file:-:lib/sub1/file-17.go",
        "file:-:lib/sub1/file-21.go",
        "file:-:lib/sub1/file-25.go",
        "file:-:lib/sub1/file-29.go",
        "file:-:lib/sub1/file-33.go",
        "file:-:lib/sub1/file-37.go",
        "dir:-:lib/sub2",
        "file:-:lib/sub2/file-02.go",
        "file:-:lib/sub2/file-06.go",
        "file:-:lib/sub2/file-10.go",
        "file:-:lib/sub2/file-14.go",
        "file:-:lib/sub2/file-18.go",
        "file:-:lib/sub2/file-22.go",
        "file:-:lib/sub2/file-26.go",
        "file:-:lib/sub2/file-30.go",
        "file:-:lib/sub2/file-34.go",
        "file:-:lib/sub2/file-38.go",
        "dir:-:lib/sub3",
        "file:-:lib/sub3/file-03.go",
        "file:-:lib/sub3/file-07.go",
        "file:-:lib/sub3/file-11.go",
        "file:-:lib/sub3/file-15.go",
        "file:-:lib/sub3/file-19.go",
        "file:-:lib/sub3/file-23.go",
        "file:-:lib/sub3/file-27.go",
        "file:-:lib/sub3/file-31.go",
        "file:-:lib/sub3/file-35.go",
        "file:-:lib/sub3/file-39.go",
        "symlink:-:link.go",
        "file:-:main.go",
        "file:x:run.sh",
      ]
    `);
  });

  it('packages many functions at once with the same tags as one at a time', async () => {
    const one = await packageFunction(root, spec('go', 'classic', 'functions/go-fn'), DEFAULT_BASE_IMAGES);
    const many = await Promise.all(
      Array.from({ length: 20 }, () =>
        packageFunction(root, spec('go', 'classic', 'functions/go-fn'), DEFAULT_BASE_IMAGES),
      ),
    );
    for (const p of many) expect(p.tag).toBe(one.tag);
  });

  it('a loaded template is the same for equal runtime, watchdog and directory', async () => {
    const a = await loadTemplate('go', 'classic');
    const b = await loadTemplate('go', 'classic');
    expect(b).toEqual(a);
  });
});
