import { mkdtempSync, readdirSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import {
  backgroundSpawner,
  processWrapBinding,
  type BackgroundSpawner,
} from '../../src/util/spawn-background.js';
import { spawnBlocking } from '../../src/util/spawn-blocking.js';

// backgroundSpawner calls Node's process_wrap binding itself; where it may not take the arguments
// it passes, there is no spawner and the CLI runs programs with spawnBlocking. Here the background
// path runs real programs and must answer as spawnBlocking does.
const spawner = backgroundSpawner();
const spawn = (...call: Parameters<BackgroundSpawner>) => {
  const started = spawner?.(...call);
  if (!started) throw new Error('no background spawner in this Node, or no temporary directory');
  return started;
};

describe('backgroundSpawner', () => {
  it('finds the binding in this Node', () => {
    expect(processWrapBinding()).toBeDefined();
    expect(spawner).toBeTypeOf('function');
  });

  it('passes arguments, working directory and environment as spawnBlocking does', async () => {
    const cwd = realpathSync(mkdtempSync(path.join(tmpdir(), 'faas-spawn-bg-')));
    const script =
      'process.stdout.write(`args:${JSON.stringify(process.argv.slice(1))} cwd:${process.cwd()} env:${process.env.FAAS_TEST_VALUE} unset:${"FAAS_UNSET" in process.env}`); process.stderr.write("to stderr"); process.exitCode = 3;';
    const args = ['-e', script, '--', '--not-an-option; $(echo no shell)', 'ünïcode "quoted"', ''];
    const options = { cwd, env: { ...process.env, FAAS_TEST_VALUE: 'a=b c', FAAS_UNSET: undefined } };
    const result = await spawn(process.execPath, args, options);
    expect(result.status).toBe(3);
    expect(result.signal).toBeNull();
    expect(result.stdout.toString('utf8')).toBe(
      `args:${JSON.stringify(args.slice(3))} cwd:${cwd} env:a=b c unset:false`,
    );
    expect(result.stderr.toString('utf8')).toBe('to stderr');
    expect(spawnBlocking(process.execPath, args, options)).toEqual(result);
  });

  it('gives the program no standard input', async () => {
    const result = await spawn(process.execPath, [
      '-e',
      'process.stdout.write(String(require("fs").readFileSync(0).length))',
    ]);
    expect(result.stdout.toString()).toBe('0');
  });

  it('returns output of any size, both streams', async () => {
    const result = await spawn(process.execPath, [
      '-e',
      'process.stdout.write("x".repeat(5e6)); process.stderr.write("y".repeat(3e5))',
    ]);
    expect(result.status).toBe(0);
    expect(result.stdout.length).toBe(5e6);
    expect(result.stderr.length).toBe(3e5);
  });

  it('runs programs side by side, each with its own output', async () => {
    const results = await Promise.all(
      [1, 2, 3, 4].map((n) =>
        spawn(process.execPath, [
          '-e',
          `setTimeout(() => process.stdout.write("${n}".repeat(${n * 1000})), ${50 - n * 10})`,
        ]),
      ),
    );
    expect(results.map((result) => result.stdout.toString())).toEqual(
      [1, 2, 3, 4].map((n) => String(n).repeat(n * 1000)),
    );
  });

  it('reports the signal that ended the program', async () => {
    const result = await spawn(process.execPath, ['-e', 'process.kill(process.pid, "SIGTERM")']);
    expect(result).toMatchObject({ status: null, signal: 'SIGTERM' });
  });

  it('rejects with the error spawnBlocking throws for a missing program, and leaves no file', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'faas-spawn-bg-tmp-'));
    const previous = process.env.TMPDIR;
    process.env.TMPDIR = dir;
    try {
      let expected: unknown;
      try {
        spawnBlocking('faas-deploy-no-such-program', ['--x']);
      } catch (error) {
        expected = error;
      }
      const thrown = await spawn('faas-deploy-no-such-program', ['--x']).catch((error: unknown) => error);
      expect((thrown as Error).message).toBe((expected as Error).message);
      expect(thrown).toMatchObject({ ...(expected as object) });
      await spawn(process.execPath, ['-e', '0']);
      // The output files are unlinked as soon as they are opened.
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      if (previous === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = previous;
    }
  });

  it('starts nothing when it cannot make its output files, so the caller runs the program itself', () => {
    vi.stubEnv('TMPDIR', path.join(tmpdir(), 'faas-no-such-directory', 'below'));
    try {
      expect(spawner?.(process.execPath, ['-e', '0'])).toBeUndefined();
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('refuses arguments with null bytes before running anything', async () => {
    await expect(spawn('git', ['a\0b'])).rejects.toThrow(/null bytes/);
  });

  it('has no spawner where the binding may take other arguments', () => {
    const real = (process as unknown as { binding: unknown }).binding;
    expect(processWrapBinding(real, '24.21.0', 'linux')).toBeDefined();
    expect(processWrapBinding(real, '22.12.0', 'linux')).toBeUndefined();
    expect(processWrapBinding(real, '25.0.0', 'linux')).toBeUndefined();
    expect(processWrapBinding(real, '24.21.0', 'win32')).toBeUndefined();
    expect(processWrapBinding(null)).toBeUndefined();
    // --pending-deprecation wraps process.binding in a function named "deprecated" that warns.
    const deprecated = function deprecated() {
      throw new Error('must not be called');
    };
    expect(processWrapBinding(deprecated)).toBeUndefined();
    // The options-object shape of earlier releases: a Process without the flag constants.
    const binding = function binding() {
      return { Process: function Process() {} };
    };
    expect(processWrapBinding(binding)).toBeUndefined();
    expect(backgroundSpawner(null)).toBeUndefined();
  });
});
