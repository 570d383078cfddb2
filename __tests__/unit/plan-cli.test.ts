import { describe, expect, it } from 'vitest';
import { blockingRunner } from '../../src/cli.js';
import { processRunner } from '../../src/util/exec.js';

// The CLI's synchronous runner must answer exactly as processRunner does.
describe('blockingRunner', () => {
  const script = [
    'let input = "";',
    'process.stdin.on("data", (chunk) => (input += chunk));',
    'process.stdin.on("end", () => {',
    '  process.stdout.write(`in:${input} arg:${process.argv[1]} cwd:${process.cwd()}`);',
    '  process.stderr.write("to stderr");',
    '  process.exitCode = 3;',
    '});',
  ].join('\n');

  it('passes arguments, input and the working directory, and returns output and exit code', async () => {
    const args = ['-e', script, '--', '--not-an-option; $(echo no shell)'];
    const options = { cwd: '/', input: 'héllo' };
    const blocking = await blockingRunner.run(process.execPath, args, options);
    expect(blocking).toEqual({
      exitCode: 3,
      stdout: 'in:héllo arg:--not-an-option; $(echo no shell) cwd:/',
      stderr: 'to stderr',
    });
    expect(await processRunner.run(process.execPath, args, options)).toEqual(blocking);
  });

  it('returns output of any size', async () => {
    const result = await blockingRunner.run(process.execPath, [
      '-e',
      'process.stdout.write("x".repeat(5e6))',
    ]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout.length).toBe(5e6);
  });

  it('rejects when the program cannot be started', async () => {
    await expect(blockingRunner.run('faas-deploy-no-such-program', [])).rejects.toThrow(/ENOENT/);
    await expect(processRunner.run('faas-deploy-no-such-program', [])).rejects.toThrow(/ENOENT/);
  });
});
