/**
 * Runs a program to completion before returning — argument array, never a shell — for the CLI,
 * which runs git one command after another with nothing else to do meanwhile.
 *
 * Why not simply child_process.spawnSync: loading node:child_process also loads net, dgram and the
 * streams (~6 ms), and its spawnSync validates and copies its options in JavaScript; on `faas-deploy
 * plan` that is a tenth of the whole run (issue #4). Underneath, spawnSync is Node's `spawn_sync`
 * binding, which `process.binding()` still hands out (on its allowlist since Node 10; DEP0111 is a
 * documentation-only deprecation). This module calls that binding with exactly the options
 * child_process.spawnSync passes for these arguments in Node 20 to 24 (checked by hand on 20, by the
 * tests on 24, the action's runtime), and uses child_process.spawnSync itself whenever the binding
 * may not be the one expected: another Node major (an internal binding can change shape, and a
 * wrong call aborts the process), process.binding missing or wrapped (`--pending-deprecation` wraps
 * it to warn), or no `spawn` in it. Both paths are tested to answer alike
 * (__tests__/unit/spawn-blocking.test.ts).
 */

import { processBinding } from './process-binding.js';

export interface BlockingOptions {
  cwd?: string | undefined;
  env?: NodeJS.ProcessEnv | undefined;
  /** Written to the program's standard input; without it standard input is /dev/null. */
  input?: string | Buffer | undefined;
}

export interface BlockingResult {
  /** The exit code, or null when a signal ended the program. */
  status: number | null;
  signal: string | null;
  stdout: Buffer;
  stderr: Buffer;
}

/** What the `spawn_sync` binding takes (node/lib/internal/child_process.js, SyncProcessRunner). */
interface SpawnSyncBindingOptions {
  file: string;
  args: string[];
  cwd: string | undefined;
  envPairs: string[];
  stdio: ({ type: 'ignore' } | { type: 'pipe'; readable: boolean; writable: boolean; input?: Buffer })[];
  detached: boolean;
  windowsHide: boolean;
  windowsVerbatimArguments: boolean;
  maxBuffer: number;
  killSignal: undefined;
}

interface SpawnSyncBindingResult {
  status?: number | null;
  signal?: string | null;
  output?: (Buffer | null)[] | null;
  /** A negative errno when the program could not be started. */
  error?: number;
}

interface SpawnSyncBinding {
  spawn(options: SpawnSyncBindingOptions): SpawnSyncBindingResult;
}

/** The Node majors whose spawn_sync binding takes the options below. */
const KNOWN_MAJORS = { from: 20, to: 24 };

/** The binding, or undefined where it is not there or not safe to call quietly. */
export function spawnSyncBinding(
  binder: unknown = (process as { binding?: unknown }).binding,
  nodeVersion: string = process.versions.node,
): SpawnSyncBinding | undefined {
  const major = Number(nodeVersion.split('.')[0]);
  if (!(major >= KNOWN_MAJORS.from && major <= KNOWN_MAJORS.to)) return undefined;
  const binding = processBinding('spawn_sync', binder) as Partial<SpawnSyncBinding> | undefined;
  return typeof binding?.spawn === 'function' ? (binding as SpawnSyncBinding) : undefined;
}

/** The error child_process.spawnSync reports for a program that could not be started. */
export function spawnError(errno: number, file: string, args: readonly string[]): NodeJS.ErrnoException {
  const { getSystemErrorName } = process.getBuiltinModule('node:util');
  const code = getSystemErrorName(errno);
  const error: NodeJS.ErrnoException & { spawnargs?: string[] } = new Error(`spawnSync ${file} ${code}`);
  error.errno = errno;
  error.code = code;
  error.syscall = `spawnSync ${file}`;
  error.path = file;
  error.spawnargs = [...args];
  return error;
}

/** An environment as the `KEY=value` strings Node's spawn bindings take. */
export function envPairs(env: NodeJS.ProcessEnv): string[] {
  const pairs: string[] = [];
  for (const key of Object.keys(env)) {
    const value = env[key];
    if (value !== undefined) pairs.push(`${key}=${value}`);
  }
  return pairs;
}

let cached: { binding: SpawnSyncBinding | null } | undefined;

/** This process's binding (looked up once), or null to use child_process.spawnSync. */
function defaultBinding(): SpawnSyncBinding | null {
  cached ??= { binding: spawnSyncBinding() ?? null };
  return cached.binding;
}

/** A C string ends at a null byte: the program would get other arguments than the ones given. */
export function refuseNullBytes(file: string, args: readonly string[]): void {
  if (file.includes('\0') || args.some((arg) => arg.includes('\0'))) {
    throw new TypeError(`The arguments of ${file} must not contain null bytes.`);
  }
}

/**
 * Runs `file` with `args` and waits for it. Throws (like child_process.spawnSync's `error`) when
 * the program cannot be started; a non-zero exit is a result, not an error. `using` is the binding
 * to call, null for child_process.spawnSync (the tests run both).
 */
export function spawnBlocking(
  file: string,
  args: readonly string[],
  options: BlockingOptions = {},
  using: SpawnSyncBinding | null = defaultBinding(),
): BlockingResult {
  refuseNullBytes(file, args);
  const input = options.input === undefined ? undefined : Buffer.from(options.input);
  if (!using) {
    const result = process.getBuiltinModule('node:child_process').spawnSync(file, [...args], {
      cwd: options.cwd,
      env: options.env ?? process.env,
      shell: false,
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      maxBuffer: Number.POSITIVE_INFINITY,
      ...(input === undefined ? {} : { input }),
    });
    if (result.error) throw result.error;
    return { status: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
  }
  const result = using.spawn({
    file,
    args: [file, ...args],
    cwd: options.cwd,
    envPairs: envPairs(options.env ?? process.env),
    stdio: [
      input === undefined ? { type: 'ignore' } : { type: 'pipe', readable: true, writable: false, input },
      { type: 'pipe', readable: false, writable: true },
      { type: 'pipe', readable: false, writable: true },
    ],
    detached: false,
    windowsHide: false,
    windowsVerbatimArguments: false,
    maxBuffer: Number.POSITIVE_INFINITY,
    killSignal: undefined,
  });
  if (result.error !== undefined) throw spawnError(result.error, file, args);
  return {
    status: result.status ?? null,
    signal: result.signal ?? null,
    stdout: result.output?.[1] ?? Buffer.alloc(0),
    stderr: result.output?.[2] ?? Buffer.alloc(0),
  };
}
