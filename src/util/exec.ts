import { spawn } from 'node:child_process';

export interface CommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  input?: string | Buffer;
  /** Called with each chunk of output as it arrives (for log groups). */
  onOutput?: (chunk: string) => void;
  signal?: AbortSignal;
}

/**
 * Runs a program with an argument array — never through a shell — and returns its output.
 * The one seam through which every external command passes, so unit tests can assert the argv.
 */
export interface CommandRunner {
  run(command: string, args: readonly string[], options?: RunOptions): Promise<CommandResult>;
}

export const processRunner: CommandRunner = {
  run(command, args, options = {}) {
    return new Promise((resolve, reject) => {
      const child = spawn(command, [...args], {
        cwd: options.cwd,
        env: options.env ?? process.env,
        shell: false,
        stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
        ...(options.signal ? { signal: options.signal } : {}),
      });
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      child.stdout?.on('data', (chunk: Buffer) => {
        stdout.push(chunk);
        options.onOutput?.(chunk.toString('utf8'));
      });
      child.stderr?.on('data', (chunk: Buffer) => {
        stderr.push(chunk);
        options.onOutput?.(chunk.toString('utf8'));
      });
      child.on('error', reject);
      child.on('close', (code, signal) => {
        resolve({
          exitCode: code ?? (signal ? 128 : 1),
          stdout: Buffer.concat(stdout).toString('utf8'),
          stderr: Buffer.concat(stderr).toString('utf8'),
        });
      });
      if (child.stdin) {
        // A program may exit without reading its input; that is its answer, not our error.
        child.stdin.on('error', () => undefined);
        child.stdin.end(options.input);
      }
    });
  },
};

/** Thrown when a command exits non-zero; carries the command and its stderr. */
export class CommandError extends Error {
  override name = 'CommandError';
  readonly command: string;
  readonly args: readonly string[];
  readonly result: CommandResult;

  constructor(command: string, args: readonly string[], result: CommandResult) {
    super(`${command} ${args[0] ?? ''} exited with ${result.exitCode}: ${result.stderr.trim().slice(-2000)}`);
    this.command = command;
    this.args = args;
    this.result = result;
  }
}
