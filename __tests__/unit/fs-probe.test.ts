import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { fsBinding, isRegularFile, subdirectoryNames } from '../../src/util/fs-probe.js';

// isRegularFile and subdirectoryNames call Node's fs binding themselves, or fs.lstatSync and
// fs.readdirSync where the binding may not be the one expected: both paths probe real files here
// and must answer alike, errors included.
const binding = fsBinding();
const paths = [
  ['the fs binding', binding ?? null],
  ['fs.lstatSync', null],
] as const;

function tree(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'faas-regular-'));
  writeFileSync(path.join(dir, 'file'), 'x');
  writeFileSync(path.join(dir, 'empty'), '');
  writeFileSync(path.join(dir, 'ünï côde "q"'), 'x');
  mkdirSync(path.join(dir, 'dir'));
  mkdirSync(path.join(dir, '.hidden dir'));
  mkdirSync(path.join(dir, '-dash ü'));
  symlinkSync(path.join(dir, 'file'), path.join(dir, 'link-to-file'));
  symlinkSync(path.join(dir, 'dir'), path.join(dir, 'link-to-dir'));
  symlinkSync(path.join(dir, 'missing'), path.join(dir, 'dangling'));
  return dir;
}

/** What `run` throws, or undefined. */
function thrownBy(run: () => unknown): NodeJS.ErrnoException | undefined {
  try {
    run();
  } catch (error) {
    return error as NodeJS.ErrnoException;
  }
  return undefined;
}

describe('isRegularFile', () => {
  it('finds the binding in this Node', () => {
    expect(typeof binding?.lstat).toBe('function');
  });

  it.each(paths)('is true only for a regular file, never through a symbolic link (%s)', (_name, using) => {
    const dir = tree();
    const answers = Object.fromEntries(
      ['file', 'empty', 'ünï côde "q"', 'dir', 'link-to-file', 'link-to-dir', 'dangling', 'missing'].map(
        (name) => [name, isRegularFile(path.join(dir, name), using)],
      ),
    );
    expect(answers).toEqual({
      file: true,
      empty: true,
      'ünï côde "q"': true,
      dir: false,
      'link-to-file': false,
      'link-to-dir': false,
      dangling: false,
      missing: false,
    });
  });

  it.each(paths)('lists directories only, not links to them (%s)', (_name, using) => {
    const dir = tree();
    expect(subdirectoryNames(dir, using).sort()).toEqual(['-dash ü', '.hidden dir', 'dir']);
    expect(subdirectoryNames(path.join(dir, 'dir'), using)).toEqual([]);
  });

  it('lists what fs.readdirSync lists and throws what it throws', () => {
    const dir = tree();
    expect(subdirectoryNames(dir, binding ?? null)).toEqual(subdirectoryNames(dir, null));
    for (const target of [path.join(dir, 'missing'), path.join(dir, 'file')]) {
      const thrown = (using: typeof binding | null) => thrownBy(() => subdirectoryNames(target, using));
      const expected = thrown(null);
      expect(expected?.code).toMatch(/^(ENOENT|ENOTDIR)$/);
      const actual = thrown(binding ?? null);
      expect(actual?.message).toBe(expected?.message);
      expect(actual).toMatchObject({ code: expected?.code, errno: expected?.errno, syscall: 'scandir' });
    }
  });

  it('throws what fs.lstatSync throws for a path through a file (ENOTDIR)', () => {
    const under = path.join(tree(), 'file', 'go.mod');
    const thrown = (using: typeof binding | null) => thrownBy(() => isRegularFile(under, using));
    const expected = thrown(null);
    expect(expected?.code).toBe('ENOTDIR');
    const actual = thrown(binding ?? null);
    expect(actual?.message).toBe(expected?.message);
    expect(actual).toMatchObject({ code: 'ENOTDIR', errno: expected?.errno, syscall: 'lstat', path: under });
  });

  it('takes the path it is given: fs only without the binding or for a null byte', () => {
    const fs = process.getBuiltinModule('node:fs');
    const spy = vi.spyOn(fs, 'lstatSync');
    const listing = vi.spyOn(fs, 'readdirSync');
    try {
      const dir = tree();
      expect(subdirectoryNames(dir, binding ?? null)).toHaveLength(3);
      expect(listing).not.toHaveBeenCalled();
      expect(subdirectoryNames(dir, null)).toHaveLength(3);
      expect(listing).toHaveBeenCalledTimes(1);
      expect(() => subdirectoryNames(`${dir}\0`, binding ?? null)).toThrow(/null bytes/);
      expect(listing).toHaveBeenCalledTimes(2);
      const file = path.join(tree(), 'file');
      expect(isRegularFile(file, binding ?? null)).toBe(true);
      expect(spy).not.toHaveBeenCalled();
      expect(isRegularFile(file, null)).toBe(true);
      expect(spy).toHaveBeenCalledTimes(1);
      // A C string would end at the null byte and probe another path: fs.lstatSync refuses it.
      expect(() => isRegularFile(`${file}\0.yaml`, binding ?? null)).toThrow(/null bytes/);
      expect(spy).toHaveBeenCalledTimes(2);
    } finally {
      spy.mockRestore();
      listing.mockRestore();
    }
  });

  it('uses the binding only on Node 24, through an unwrapped process.binding, without the permission model', () => {
    const real = (process as unknown as { binding: unknown }).binding;
    expect(fsBinding(real, '24.21.0', undefined)).toBeDefined();
    expect(fsBinding(real, '22.12.0', undefined)).toBeUndefined();
    expect(fsBinding(real, '25.0.0', undefined)).toBeUndefined();
    expect(fsBinding(real, '24.21.0', {})).toBeUndefined();
    expect(fsBinding(null)).toBeUndefined();
    const deprecated = function deprecated() {
      throw new Error('must not be called');
    };
    expect(fsBinding(deprecated)).toBeUndefined();
    const empty = function binding() {
      return {};
    };
    expect(fsBinding(empty)).toBeUndefined();
  });
});
