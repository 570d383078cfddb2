/**
 * "Is this path a regular file?" without following a symbolic link — the question discovery asks
 * twice per function directory, two thousand times in a monorepo of a thousand functions.
 *
 * Why not simply fs.lstatSync: around each lstat(2) it validates the path in JavaScript, checks
 * the permission model and builds a Stats object (whose garbage then costs scavenges). On this
 * project's benchmark machine that was 10 ms for 2,000 probes against 4.6 ms for the same calls
 * straight to Node's fs binding, which `process.binding('fs')` still hands out (on its allowlist;
 * DEP0111 is a documentation-only deprecation) and which fs.lstatSync itself calls with these four
 * arguments in Node 24. So, as src/util/spawn-blocking.ts does for spawn_sync, this module calls
 * the binding on Node 24 only (the signature was different before and may change again: earlier
 * majors passed an error context object where Node 24 passes throwIfNoEntry), and falls back to
 * fs.lstatSync whenever the binding may not be the one expected: another Node major,
 * process.binding missing or wrapped (`--pending-deprecation`), the permission model enabled (its
 * checks are in fs.lstatSync's JavaScript), no `lstat` in it, or a path with a null byte (which
 * fs.lstatSync rejects and a C string would cut short). Both paths are tested to answer alike,
 * errors included (__tests__/unit/regular-file.test.ts).
 */

/** What Node 24's fs binding answers for lstat: its shared stat array, undefined for ENOENT. */
interface FsBinding {
  lstat(file: string, bigint: false, request: undefined, throwIfNoEntry: false): Float64Array | undefined;
}

/** Index of st_mode in the binding's stat array (kMode in node/lib/internal/fs/utils.js). */
const MODE = 1;
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;

/** The Node major whose fs binding takes the arguments above. */
const KNOWN_MAJOR = 24;

type Binder = (name: string) => unknown;

/** The binding, or undefined where it is not there or not safe to call quietly. */
export function fsBinding(
  binder: unknown = (process as { binding?: unknown }).binding,
  nodeVersion: string = process.versions.node,
  permissionModel: unknown = (process as { permission?: unknown }).permission,
): FsBinding | undefined {
  if (Number(nodeVersion.split('.')[0]) !== KNOWN_MAJOR) return undefined;
  if (permissionModel !== undefined) return undefined;
  // Node's own process.binding is a function named "binding"; --pending-deprecation replaces it
  // with a wrapper named "deprecated" that prints DEP0111 on standard error.
  if (typeof binder !== 'function' || binder.name !== 'binding') return undefined;
  try {
    const binding = (binder as Binder).call(process, 'fs') as Partial<FsBinding> | undefined;
    return typeof binding?.lstat === 'function' ? (binding as FsBinding) : undefined;
  } catch {
    return undefined;
  }
}

let processBinding: { binding: FsBinding | null } | undefined;

/** This process's binding (looked up once), or null to use fs.lstatSync. */
function defaultBinding(): FsBinding | null {
  processBinding ??= { binding: fsBinding() ?? null };
  return processBinding.binding;
}

/**
 * True when `file` names a regular file: not a directory, not a symbolic link (even to a file),
 * not missing. Other errors (ENOTDIR, EACCES, ELOOP, …) are thrown as fs.lstatSync throws them.
 * `using` is the binding to call, null for fs.lstatSync (the tests run both).
 */
export function isRegularFile(file: string, using: FsBinding | null = defaultBinding()): boolean {
  if (using === null || file.includes('\0')) {
    return process.getBuiltinModule('node:fs').lstatSync(file, { throwIfNoEntry: false })?.isFile() === true;
  }
  const stats = using.lstat(file, false, undefined, false);
  return stats !== undefined && ((stats[MODE] ?? 0) & S_IFMT) === S_IFREG;
}
