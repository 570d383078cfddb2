/**
 * The two questions discovery asks of the file system, thousands of times in a monorepo of a
 * thousand functions: which entries of the functions directory are directories, and is this path
 * a regular file (without following a symbolic link)?
 *
 * Why not simply fs.readdirSync and fs.lstatSync: around each system call they validate the path
 * in JavaScript, check the permission model and build Dirent and Stats objects (whose garbage then
 * costs scavenges). On this project's benchmark machine 2,000 fs.lstatSync probes took 10 ms, the
 * same calls straight to Node's fs binding 4.6 ms. `process.binding('fs')` still hands that binding
 * out (on its allowlist; DEP0111 is a documentation-only deprecation), and fs.readdirSync and
 * fs.lstatSync call it with the arguments below in Node 24. So, as src/util/spawn-blocking.ts does
 * for spawn_sync, this module calls the binding on Node 24 only (earlier majors passed an error
 * context object where Node 24 passes throwIfNoEntry, and a call of the wrong shape can abort the
 * process), and uses fs whenever the binding may not be the one expected: another Node major,
 * process.binding missing or wrapped (`--pending-deprecation`), the permission model enabled (its
 * checks are in fs's JavaScript), a binding without these functions, or a path with a null byte
 * (which fs rejects and a C string would cut short). Both paths are tested to answer alike, errors
 * included (__tests__/unit/fs-probe.test.ts).
 */

import { processBinding } from './process-binding.js';

/** What Node 24's fs binding answers for lstat: its shared stat array, undefined for ENOENT. */
interface FsBinding {
  lstat(file: string, bigint: false, request: undefined, throwIfNoEntry: false): Float64Array | undefined;
  /** Names and their UV_DIRENT_* types. */
  readdir(dir: string, encoding: 'utf8', withFileTypes: true): [string[], number[]] | undefined;
}

/** Index of st_mode in the binding's stat array (kMode in node/lib/internal/fs/utils.js). */
const MODE = 1;
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
/** libuv's uv_dirent_type_t, which the binding's readdir reports (fs.constants.UV_DIRENT_*). */
const UV_DIRENT_UNKNOWN = 0;
const UV_DIRENT_DIR = 2;

/** The Node major whose fs binding takes the arguments above. */
const KNOWN_MAJOR = 24;

/** The binding, or undefined where it is not there or not safe to call quietly. */
export function fsBinding(
  binder: unknown = (process as { binding?: unknown }).binding,
  nodeVersion: string = process.versions.node,
  permissionModel: unknown = (process as { permission?: unknown }).permission,
): FsBinding | undefined {
  if (Number(nodeVersion.split('.')[0]) !== KNOWN_MAJOR) return undefined;
  if (permissionModel !== undefined) return undefined;
  const binding = processBinding('fs', binder) as Partial<FsBinding> | undefined;
  return typeof binding?.lstat === 'function' && typeof binding.readdir === 'function'
    ? (binding as FsBinding)
    : undefined;
}

let cached: { binding: FsBinding | null } | undefined;

/** This process's binding (looked up once), or null to use fs. */
function defaultBinding(): FsBinding | null {
  cached ??= { binding: fsBinding() ?? null };
  return cached.binding;
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

/**
 * The names of the directories directly inside `dir`, in the order the system lists them: not
 * symbolic links to directories, as fs.Dirent#isDirectory. Errors (ENOENT, ENOTDIR, EACCES, …) are
 * thrown as fs.readdirSync throws them. `using` is the binding to call, null for fs.readdirSync.
 */
export function subdirectoryNames(dir: string, using: FsBinding | null = defaultBinding()): string[] {
  const names: string[] = [];
  if (using === null || dir.includes('\0')) {
    const entries = process.getBuiltinModule('node:fs').readdirSync(dir, { withFileTypes: true });
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i];
      if (entry?.isDirectory()) names.push(entry.name);
    }
    return names;
  }
  const listed = using.readdir(dir, 'utf8', true);
  if (listed === undefined) return names;
  const [all, types] = listed;
  for (let i = 0; i < all.length; i++) {
    const name = all[i] ?? '';
    const type = types[i];
    // Some file systems do not say: then lstat decides, as fs.readdirSync's Dirents do.
    if (
      type === UV_DIRENT_DIR ||
      (type === UV_DIRENT_UNKNOWN &&
        ((using.lstat(`${dir}/${name}`, false, undefined, false)?.[MODE] ?? 0) & S_IFMT) === S_IFDIR)
    ) {
      names.push(name);
    }
  }
  return names;
}
