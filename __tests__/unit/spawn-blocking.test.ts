import { spawnSync } from 'node:child_process';
import { mkdtempSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { spawnBlocking, spawnSyncBinding } from '../../src/util/spawn-blocking.js';

// spawnBlocking calls Node's spawn_sync binding itself, or child_process.spawnSync where the
// binding is not the expected one: both paths run real programs here and must answer alike.
const binding = spawnSyncBinding();
const paths = [
  ['the spawn_sync binding', binding ?? null],
  ['child_process.spawnSync', null],
] as const;

const script = [
  'let input = "";',
  'process.stdin.on("data", (chunk) => (input += chunk));',
  'process.stdin.on("end", () => {',
  '  process.stdout.write(`in:${input} args:${JSON.stringify(process.argv.slice(1))} cwd:${process.cwd()} env:${process.env.FAAS_TEST_VALUE}`);',
  '  process.stderr.write("to stderr");',
  '  process.exitCode = 3;',
  '});',
].join('\n');

describe('spawnBlocking', () => {
  it('finds the binding in this Node', () => {
    expect(typeof binding?.spawn).toBe('function');
  });

  it.each(paths)('passes arguments, input, working directory and environment (%s)', (_name, using) => {
    const cwd = realpathSync(mkdtempSync(path.join(tmpdir(), 'faas-spawn-')));
    const args = ['-e', script, '--', '--not-an-option; $(echo no shell)', 'ünïcode "quoted"', ''];
    const result = spawnBlocking(
      process.execPath,
      args,
      { cwd, input: 'héllo', env: { ...process.env, FAAS_TEST_VALUE: 'a=b c', FAAS_UNSET: undefined } },
      using,
    );
    expect(result.status).toBe(3);
    expect(result.signal).toBeNull();
    expect(result.stdout.toString('utf8')).toBe(
      `in:héllo args:${JSON.stringify(args.slice(3))} cwd:${cwd} env:a=b c`,
    );
    expect(result.stderr.toString('utf8')).toBe('to stderr');
  });

  it('takes the path it is given: child_process.spawnSync only without the binding', () => {
    const childProcess = process.getBuiltinModule('node:child_process');
    const spy = vi.spyOn(childProcess, 'spawnSync');
    try {
      spawnBlocking('git', ['--version'], {}, binding ?? null);
      expect(spy).not.toHaveBeenCalled();
      spawnBlocking('git', ['--version'], {}, null);
      expect(spy).toHaveBeenCalledTimes(1);
    } finally {
      spy.mockRestore();
    }
  });

  it.each(paths)('gives the program no standard input without input (%s)', (_name, using) => {
    const result = spawnBlocking(
      process.execPath,
      ['-e', 'process.stdout.write(String(require("fs").readFileSync(0).length))'],
      {},
      using,
    );
    expect(result.stdout.toString()).toBe('0');
  });

  it.each(paths)('returns output of any size (%s)', (_name, using) => {
    const result = spawnBlocking(
      process.execPath,
      ['-e', 'process.stdout.write("x".repeat(5e6))'],
      {},
      using,
    );
    expect(result.status).toBe(0);
    expect(result.stdout.length).toBe(5e6);
  });

  it.each(paths)('reports the signal that ended the program (%s)', (_name, using) => {
    const result = spawnBlocking(process.execPath, ['-e', 'process.kill(process.pid, "SIGTERM")'], {}, using);
    expect(result).toMatchObject({ status: null, signal: 'SIGTERM' });
  });

  it.each(paths)(
    'throws the error child_process.spawnSync gives for a missing program (%s)',
    (_name, using) => {
      const expected = spawnSync('faas-deploy-no-such-program', ['--x']).error as NodeJS.ErrnoException & {
        spawnargs: string[];
      };
      let thrown: (NodeJS.ErrnoException & { spawnargs?: string[] }) | undefined;
      try {
        spawnBlocking('faas-deploy-no-such-program', ['--x'], {}, using);
      } catch (error) {
        thrown = error as NodeJS.ErrnoException;
      }
      expect(thrown?.message).toBe(expected.message);
      expect(thrown).toMatchObject({
        code: expected.code,
        errno: expected.errno,
        syscall: expected.syscall,
        path: expected.path,
        spawnargs: expected.spawnargs,
      });
    },
  );

  it('refuses arguments with null bytes before running anything', () => {
    expect(() => spawnBlocking('git', ['a\0b'])).toThrow(/null bytes/);
  });

  it('does not use a process.binding that is missing, wrapped or without spawn', () => {
    expect(spawnSyncBinding(null)).toBeUndefined();
    // --pending-deprecation wraps process.binding in a function named "deprecated" that warns.
    const deprecated = function deprecated() {
      throw new Error('must not be called');
    };
    expect(spawnSyncBinding(deprecated)).toBeUndefined();
    const binding = function binding() {
      return {};
    };
    expect(spawnSyncBinding(binding)).toBeUndefined();
    const throwing = {
      binding: () => {
        throw new Error('No such module');
      },
    }.binding;
    Object.defineProperty(throwing, 'name', { value: 'binding' });
    expect(spawnSyncBinding(throwing)).toBeUndefined();
  });

  it('uses the binding only on the Node majors whose binding it knows', () => {
    const real = (process as unknown as { binding: unknown }).binding;
    expect(spawnSyncBinding(real, '24.21.0')).toBeDefined();
    expect(spawnSyncBinding(real, '20.20.2')).toBeDefined();
    expect(spawnSyncBinding(real, '19.9.0')).toBeUndefined();
    expect(spawnSyncBinding(real, '25.0.0')).toBeUndefined();
  });
});
