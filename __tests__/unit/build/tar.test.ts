// The build-context tarball (the Tekton builder's transport) is checked by extracting it with the real
// GNU tar and comparing with what writeBuildContext puts on disk for the same request.
import { execFileSync } from 'node:child_process';
import {
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { contextEntries, contextTarball, tarEntries } from '../../../src/build/tar.js';
import type { ContextEntry } from '../../../src/package/build-context.js';
import { writeBuildContext } from '../../../src/package/index.js';

const work = mkdtempSync(path.join(tmpdir(), 'faas-build-tar-'));
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

const file = (p: string, text: string, executable = false): ContextEntry => ({
  path: p,
  kind: 'file',
  executable,
  data: Buffer.from(text),
});
const longDir = `function/${'deeply-nested-directory/'.repeat(6)}`;
const request = {
  dockerfilePath: '.faas/Dockerfile',
  dockerfile: 'FROM scratch\nCOPY function/ /\n',
  entries: [
    file('.faas/Dockerfile', 'stale: replaced by the rendered one'),
    file('.faas/server.js', 'console.log(1)\n'),
    { path: 'function', kind: 'dir', executable: false, data: Buffer.alloc(0) },
    file('function/main.go', 'package main\n'),
    file('function/run.sh', '#!/bin/sh\necho hi\n', true),
    { path: 'function/link', kind: 'symlink', executable: false, data: Buffer.from('main.go') },
    file(`${longDir}${'x'.repeat(120)}.txt`, 'long name\n'),
    file('function/ünïcödé.txt', 'utf-8 name\n'),
    { path: 'function/empty', kind: 'dir', executable: false, data: Buffer.alloc(0) },
  ] satisfies ContextEntry[],
};

/** Every path under dir with its type, mode, mtime and content (or link target). */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    for (const name of readdirSync(path.join(dir, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const full = path.join(dir, r);
      const st = lstatSync(full);
      const mode = (st.mode & 0o777).toString(8);
      const mtime = st.mtime.toISOString();
      if (st.isSymbolicLink()) out[r] = `link ${readlinkSync(full)}`;
      else if (st.isDirectory()) {
        out[r] = `dir ${mode} ${mtime}`;
        walk(r);
      } else out[r] = `file ${mode} ${mtime} ${readFileSync(full, 'utf8')}`;
    }
  };
  walk('');
  return out;
}

describe('contextTarball', () => {
  it('extracts with GNU tar to exactly what writeBuildContext writes (modes, mtimes, links, long and UTF-8 names)', async () => {
    const fromTar = path.join(work, 'tar');
    const onDisk = path.join(work, 'disk');
    execFileSync('mkdir', ['-p', fromTar]);
    writeFileSync(path.join(work, 'ctx.tar.gz'), contextTarball(request));
    execFileSync('tar', ['-xzf', path.join(work, 'ctx.tar.gz'), '-C', fromTar, '--no-same-owner']);
    await writeBuildContext(request, onDisk);
    const tarred = snapshot(fromTar);
    expect(tarred).toEqual(snapshot(onDisk));
    expect(tarred['.faas/Dockerfile']).toBe(
      'file 644 2000-01-01T00:00:00.000Z FROM scratch\nCOPY function/ /\n',
    );
    expect(tarred['function/run.sh']).toMatch(/^file 755 /);
    expect(tarred['function/link']).toBe('link main.go');
    expect(Object.keys(tarred)).toContain(`${longDir}${'x'.repeat(120)}.txt`);
    expect(Object.keys(tarred)).toContain('function/ünïcödé.txt');
  });

  it('lists parents before children and owner 0:0 in GNU tar’s listing', () => {
    const listing = execFileSync('tar', ['-tvzf', '-', '--numeric-owner'], {
      input: contextTarball(request),
      encoding: 'utf8',
    })
      .trim()
      .split('\n');
    const names = listing.map((line) => line.split(/\s+/).slice(5).join(' '));
    expect(names.slice(0, 3)).toEqual(['.faas/', '.faas/Dockerfile', '.faas/server.js']);
    expect(names.indexOf('function/')).toBeLessThan(names.indexOf('function/main.go'));
    expect(listing.every((line) => line.split(/\s+/)[1] === '0/0')).toBe(true);
  });

  it('is the same bytes for the same entries in any order, and changes with the content', () => {
    const shuffled = { ...request, entries: [...request.entries].reverse() };
    expect(contextTarball(shuffled).equals(contextTarball(request))).toBe(true);
    const changed = { ...request, dockerfile: 'FROM scratch\n' };
    expect(contextTarball(changed).equals(contextTarball(request))).toBe(false);
    const tar = gunzipSync(contextTarball(request));
    expect(tar.length % 512).toBe(0);
    expect(tar.equals(tarEntries(contextEntries(request)))).toBe(true);
  });
});
