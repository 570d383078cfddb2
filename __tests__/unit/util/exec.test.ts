import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { processRunner } from '../../../src/util/exec.js';

describe('processRunner', () => {
  const script = [
    'let input = "";',
    'process.stdin.on("data", (chunk) => (input += chunk));',
    'process.stdin.on("end", () => {',
    '  process.stdout.write(`in:${input} arg:${process.argv[1]} cwd:${process.cwd()}`);',
    '  process.stderr.write("to stderr");',
    '  process.exitCode = 3;',
    '});',
  ].join('\n');
  const args = ['-e', script, '--', '--not-an-option; $(echo no shell)'];

  it('passes arguments, input and the working directory, and returns output and exit code', async () => {
    const options = { cwd: '/', input: 'héllo' };
    expect(await processRunner.run(process.execPath, args, options)).toEqual({
      exitCode: 3,
      stdout: 'in:héllo arg:--not-an-option; $(echo no shell) cwd:/',
      stderr: 'to stderr',
    });
  });

  it('gives the program no input and the environment it is given', async () => {
    const options = { cwd: '/', env: { ...process.env, LANG: 'C' } };
    expect(await processRunner.run(process.execPath, args, options)).toEqual({
      exitCode: 3,
      stdout: 'in: arg:--not-an-option; $(echo no shell) cwd:/',
      stderr: 'to stderr',
    });
    const env = await processRunner.run(process.execPath, ['-p', 'process.env.FAAS_EXEC_TEST'], {
      env: { FAAS_EXEC_TEST: 'set' },
    });
    expect(env.stdout).toBe('set\n');
  });

  it('starts the program before it returns, so the caller can work meanwhile', async () => {
    // The program waits (at most 10 s) for a file the caller makes only after run() has returned
    // (the plan stage lists the function directories while `git diff` runs): a runner that ran it
    // to completion first would see it give up and exit 1.
    const go = path.join(mkdtempSync(path.join(tmpdir(), 'faas-runner-')), 'go');
    const waiter = [
      'const { existsSync } = require("node:fs");',
      'const deadline = Date.now() + 10000;',
      'const poll = () => existsSync(process.argv[1]) ? process.exit(0) : Date.now() > deadline ? process.exit(1) : setTimeout(poll, 5);',
      'poll();',
    ].join('\n');
    const running = processRunner.run(process.execPath, ['-e', waiter, go]);
    writeFileSync(go, '');
    expect((await running).exitCode).toBe(0);
  });

  it('returns output of any size', async () => {
    const result = await processRunner.run(process.execPath, ['-e', 'process.stdout.write("x".repeat(5e6))']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout.length).toBe(5e6);
  });

  it('rejects when the program cannot be started', async () => {
    await expect(processRunner.run('faas-deploy-no-such-program', [])).rejects.toThrow(/ENOENT/);
  });
});
