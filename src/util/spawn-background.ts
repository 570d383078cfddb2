/**
 * Starts a program — argument array, never a shell — and lets the caller go on with its own work
 * while it runs; the promise settles when the program has exited. For the CLI, which starts
 * `git diff` and meanwhile lists a thousand function directories (issue #4: the two overlapped
 * cost about 3 ms less than one after the other).
 *
 * Why not child_process.spawn: loading node:child_process also loads net, dgram and the streams
 * (~6 ms), and its pipes need the stream machinery. Underneath, child_process.spawn is Node's
 * `process_wrap` binding, which `process.binding()` still hands out (on its allowlist; DEP0111 is
 * a documentation-only deprecation). This module calls its Process#spawn with the positional
 * arguments Node 24 passes (file, args, cwd, envPairs, stdio, flags, uid, gid; the binding then
 * exports `constants.kProcessFlagDetached`), and the program writes its standard output and error
 * to two unlinked temporary files rather than pipes, so nothing but the exit needs the event loop.
 * Earlier releases passed one options object, and a call of the wrong shape aborts the process, so
 * anything else — another Node major, a binding without those constants, process.binding missing
 * or wrapped (`--pending-deprecation`), a platform without POSIX file semantics — gets undefined
 * from backgroundSpawner() and the caller runs the program with spawnBlocking instead. Both are
 * tested to answer alike (__tests__/unit/spawn-background.test.ts).
 */
import { processBinding } from './process-binding.js';
import { envPairs, refuseNullBytes, spawnError, type BlockingResult } from './spawn-blocking.js';
import { readFromStart } from './read-descriptor.js';
import { temporaryDirectory } from './temp-dir.js';

interface ProcessHandle {
  onexit: (exitCode: number, signalCode: string) => void;
  spawn(
    file: string,
    args: string[],
    cwd: string | undefined,
    envPairs: string[],
    stdio: ({ type: 'ignore' } | { type: 'fd'; fd: number })[],
    flags: number,
    uid: undefined,
    gid: undefined,
  ): number;
  close(): void;
}

interface ProcessWrapBinding {
  Process: new () => ProcessHandle;
  constants: { kProcessFlagDetached: number };
}

/** The Node major whose process_wrap binding takes the arguments above. */
const KNOWN_MAJOR = 24;

/** The binding, or undefined where it is not there or may not take the arguments above. */
export function processWrapBinding(
  binder: unknown = (process as { binding?: unknown }).binding,
  nodeVersion: string = process.versions.node,
  platform: string = process.platform,
): ProcessWrapBinding | undefined {
  if (Number(nodeVersion.split('.')[0]) !== KNOWN_MAJOR) return undefined;
  if (platform === 'win32') return undefined;
  const binding = processBinding('process_wrap', binder) as Partial<ProcessWrapBinding> | undefined;
  if (typeof binding?.Process !== 'function') return undefined;
  // Present exactly where spawn takes positional arguments (an options object before that).
  if (binding.constants?.kProcessFlagDetached !== 1) return undefined;
  return binding as ProcessWrapBinding;
}

export interface BackgroundOptions {
  cwd?: string | undefined;
  env?: NodeJS.ProcessEnv | undefined;
}

/**
 * Starts the program; undefined when its output files cannot be made (an unwritable temporary
 * directory, say): then the caller runs it with spawnBlocking, which needs none.
 */
export type BackgroundSpawner = (
  file: string,
  args: readonly string[],
  options?: BackgroundOptions,
) => Promise<BlockingResult> | undefined;

let counter = 0;

/**
 * A file only this process can reach: created exclusively (never through a link someone planted)
 * with mode 0600 in the temporary directory, and unlinked at once, so it needs no clean-up and
 * nobody else can open it afterwards. Returns its descriptor.
 */
function anonymousFile(fs: typeof import('node:fs')): number {
  const dir = temporaryDirectory();
  const { O_CREAT, O_EXCL, O_RDWR, O_NOFOLLOW } = fs.constants;
  for (let attempt = 0; ; attempt++) {
    const name = `${dir}/.faas-deploy-${process.pid}-${++counter}-${Math.random().toString(36).slice(2)}`;
    try {
      const fd = fs.openSync(name, O_CREAT | O_EXCL | O_RDWR | O_NOFOLLOW, 0o600);
      fs.unlinkSync(name);
      return fd;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 5) throw error;
    }
  }
}

/** Everything written to the file so far, from its start (the child moved the offset); closes it. */
function drain(fs: typeof import('node:fs'), fd: number): Buffer {
  try {
    return readFromStart(fd, fs.fstatSync(fd).size);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * A spawner that runs programs in the background through `binding`; undefined when there is no
 * binding of the expected shape (null, see above): then run them with spawnBlocking. The promise
 * rejects, as spawnBlocking throws, when the program cannot be started.
 */
export function backgroundSpawner(
  binding: ProcessWrapBinding | null = processWrapBinding() ?? null,
): BackgroundSpawner | undefined {
  if (!binding) return undefined;
  return (file, args, options = {}) => {
    const fs = process.getBuiltinModule('node:fs');
    try {
      refuseNullBytes(file, args);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    let stdout: number | undefined;
    let stderr: number | undefined;
    try {
      stdout = anonymousFile(fs);
      stderr = anonymousFile(fs);
    } catch {
      if (stdout !== undefined) fs.closeSync(stdout);
      return undefined;
    }
    const out = stdout;
    const err = stderr;
    try {
      const child = new binding.Process();
      const exited = new Promise<BlockingResult>((resolve, reject) => {
        child.onexit = (exitCode, signalCode) => {
          child.close();
          try {
            resolve({
              status: signalCode ? null : exitCode,
              signal: signalCode || null,
              stdout: drain(fs, out),
              stderr: drain(fs, err),
            });
          } catch (error) {
            reject(error instanceof Error ? error : new Error(String(error)));
          }
        };
      });
      const failed = child.spawn(
        file,
        [file, ...args],
        options.cwd,
        envPairs(options.env ?? process.env),
        [{ type: 'ignore' }, { type: 'fd', fd: out }, { type: 'fd', fd: err }],
        0,
        undefined,
        undefined,
      );
      if (failed !== 0) {
        child.close();
        fs.closeSync(out);
        fs.closeSync(err);
        return Promise.reject(spawnError(failed, file, args));
      }
      return exited;
    } catch (error) {
      fs.closeSync(out);
      fs.closeSync(err);
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  };
}
