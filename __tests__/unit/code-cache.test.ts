import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { codeCacheDirectory } from '../../src/util/code-cache.js';

// runCachedScript writes its cache when the process exits, so each run is a process of its own:
// it runs a small CommonJS bundle and prints what the bundle computed and how the cache was used.
const modulePath = path.resolve('src/util/code-cache.ts');

function run(
  bundle: string,
  cacheDir: string | undefined,
  worthKeeping = 'true',
): { answer: string; cache: string } {
  const probe = [
    `const { runCachedScript } = await import(${JSON.stringify(modulePath)});`,
    `const result = runCachedScript(${JSON.stringify(bundle)}, 'key0', ${JSON.stringify(cacheDir)}, () => ${worthKeeping});`,
    'process.stdout.write(JSON.stringify({ answer: result.exports.answer(), cache: result.cache }));',
  ].join('\n');
  const result = spawnSync(
    process.execPath,
    ['--experimental-strip-types', '--no-warnings=ExperimentalWarning', '--input-type=module', '-e', probe],
    { encoding: 'utf8' },
  );
  expect(result.stderr).toBe('');
  return JSON.parse(result.stdout) as { answer: string; cache: string };
}

function cacheFiles(dir: string): string[] {
  return readdirSync(dir).filter((name) => name.endsWith('.cache'));
}

function makeBundle(body: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'faas-code-cache-'));
  const file = path.join(dir, 'bundle.cjs');
  writeFileSync(file, body);
  return file;
}

const BUNDLE = (value: string) =>
  `'use strict';\nconst path = require('node:path');\nmodule.exports.answer = () => ${JSON.stringify(value)} + ':' + path.basename(__filename) + ':' + path.basename(__dirname).slice(0, 16);\n`;

describe('runCachedScript', () => {
  it('runs the bundle as a CommonJS module, with require, __filename and __dirname', () => {
    const bundle = makeBundle(BUNDLE('one'));
    expect(run(bundle, undefined)).toEqual({ answer: 'one:bundle.cjs:faas-code-cache-', cache: 'off' });
  });

  it('writes the cache at exit, then uses it; a refused or untrusted cache is written anew', () => {
    const bundle = makeBundle(BUNDLE('one'));
    const cacheDir = path.join(mkdtempSync(path.join(tmpdir(), 'faas-code-cache-dir-')), 'nested');
    expect(run(bundle, cacheDir).cache).toBe('missing');
    const [file] = cacheFiles(cacheDir);
    expect(file).toMatch(
      new RegExp(`^bundle\\.cjs-key0-[0-9a-z]+-[0-9a-z]+-${process.version}-${process.arch}\\.cache$`),
    );
    const cacheFile = path.join(cacheDir, file ?? '');
    expect(statSync(cacheDir).mode & 0o777).toBe(0o700);
    expect(statSync(cacheFile).mode & 0o777).toBe(0o600);
    const written = readFileSync(cacheFile);

    expect(run(bundle, cacheDir)).toEqual({ answer: 'one:bundle.cjs:faas-code-cache-', cache: 'used' });
    expect(readFileSync(cacheFile)).toEqual(written);

    // Not a cache V8 made: refused, and replaced by a good one.
    writeFileSync(cacheFile, Buffer.alloc(written.length, 7));
    expect(run(bundle, cacheDir).cache).toBe('rejected');
    expect(readFileSync(cacheFile)).not.toEqual(Buffer.alloc(written.length, 7));
    expect(run(bundle, cacheDir).cache).toBe('used');

    // Writable by others: never read.
    chmodSync(cacheFile, 0o666);
    expect(run(bundle, cacheDir).cache).toBe('missing');
    expect(statSync(cacheFile).mode & 0o777).toBe(0o600);
    expect(run(bundle, cacheDir).cache).toBe('used');
    expect(readdirSync(cacheDir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('does not run the cache of other content of the same length', () => {
    const bundle = makeBundle(BUNDLE('one'));
    const cacheDir = mkdtempSync(path.join(tmpdir(), 'faas-code-cache-dir-'));
    expect(run(bundle, cacheDir).cache).toBe('missing');
    const mtime = statSync(bundle).mtime;
    writeFileSync(bundle, BUNDLE('two'));
    utimesSync(bundle, mtime, new Date(mtime.getTime() + 5000));
    expect(run(bundle, cacheDir)).toEqual({ answer: 'two:bundle.cjs:faas-code-cache-', cache: 'missing' });
    expect(cacheFiles(cacheDir)).toHaveLength(2);
  });

  it('runs a sibling bundle the bundle requires the same way, with a cache of its own, once', () => {
    const bundle = makeBundle(
      [
        "'use strict';",
        "const first = require('./sibling.cjs');",
        "const again = require('./sibling.cjs');",
        "module.exports.answer = () => `${first.value}:${first === again}:${require('node:path').sep}`;",
      ].join('\n'),
    );
    writeFileSync(
      path.join(path.dirname(bundle), 'sibling.cjs'),
      'globalThis.siblingRuns = (globalThis.siblingRuns ?? 0) + 1;\nmodule.exports.value = `sibling ${globalThis.siblingRuns}`;\n',
    );
    const cacheDir = mkdtempSync(path.join(tmpdir(), 'faas-code-cache-dir-'));
    expect(run(bundle, cacheDir)).toEqual({ answer: 'sibling 1:true:/', cache: 'missing' });
    expect(
      cacheFiles(cacheDir)
        .map((name) => name.split('-')[0])
        .sort(),
    ).toEqual(['bundle.cjs', 'sibling.cjs']);
    expect(run(bundle, cacheDir)).toEqual({ answer: 'sibling 1:true:/', cache: 'used' });
  });

  it("requires built-ins, packages and anything else as Node's own require does", () => {
    const bundle = makeBundle(
      [
        "'use strict';",
        "const fs = require('node:fs');",
        "const same = fs === require('fs') && fs === process.getBuiltinModule('node:fs');",
        "const pkg = require('faas-probe-package');",
        "const resolved = require.resolve('faas-probe-package').endsWith('/node_modules/faas-probe-package/index.js');",
        'let missing;',
        "try { require('node:faas-no-such-module'); } catch (error) { missing = error.code; }",
        'module.exports.answer = () => `${same}:${pkg.value}:${resolved}:${missing}:${typeof require.cache}`;',
      ].join('\n'),
    );
    const pkg = path.join(path.dirname(bundle), 'node_modules', 'faas-probe-package');
    mkdirSync(pkg, { recursive: true });
    writeFileSync(path.join(pkg, 'index.js'), "module.exports.value = 'from a package';\n");
    expect(run(bundle, undefined).answer).toBe('true:from a package:true:ERR_UNKNOWN_BUILTIN_MODULE:object');
  });

  it('writes nothing when the run is not worth keeping', () => {
    const bundle = makeBundle(BUNDLE('one'));
    const cacheDir = mkdtempSync(path.join(tmpdir(), 'faas-code-cache-dir-'));
    expect(run(bundle, cacheDir, 'false').cache).toBe('missing');
    expect(cacheFiles(cacheDir)).toEqual([]);
  });

  it('keeps going when the cache cannot be written', () => {
    const bundle = makeBundle(BUNDLE('one'));
    const readOnly = mkdtempSync(path.join(tmpdir(), 'faas-code-cache-ro-'));
    const cacheDir = path.join(readOnly, 'cache');
    writeFileSync(cacheDir, 'a file where the directory should be');
    expect(run(bundle, cacheDir)).toEqual({ answer: 'one:bundle.cjs:faas-code-cache-', cache: 'missing' });
  });
});

describe('codeCacheDirectory', () => {
  it('is off with NODE_DISABLE_COMPILE_CACHE=1, under NODE_COMPILE_CACHE when set, else per user in the temporary directory', () => {
    const tmp = () => '/tmp/x';
    expect(
      codeCacheDirectory({ NODE_DISABLE_COMPILE_CACHE: '1', NODE_COMPILE_CACHE: '/c' }, tmp),
    ).toBeUndefined();
    expect(codeCacheDirectory({ NODE_COMPILE_CACHE: '/c' }, tmp)).toBe('/c/faas-deploy');
    expect(codeCacheDirectory({}, tmp)).toBe(
      `/tmp/x/faas-deploy-compile-cache-${process.getuid?.() ?? 'user'}`,
    );
  });
});
