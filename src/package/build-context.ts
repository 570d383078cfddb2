import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
} from 'node:fs';
import { chmod, lutimes, mkdir, symlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import dockerignore from '@balena/dockerignore';
import { byCodeUnits } from '../util/sort.js';

export interface ContextEntry {
  /** Relative to the context root, forward slashes. */
  path: string;
  kind: 'file' | 'symlink' | 'dir';
  /**
   * Only the executable bit is kept: umask and checkout differences must not change the tag, and
   * the context is written with modes 0644/0755 from it, so the image cannot differ either.
   */
  executable: boolean;
  /** File bytes, the link target for a symlink (never followed), empty for a directory. */
  data: Buffer;
}

export interface ReadContextOptions {
  /**
   * Paths left out whatever .dockerignore says (relative to the directory, forward slashes), e.g.
   * function.yaml, which configures the Service and is no part of the image.
   */
  exclude?: (relativePath: string, isDirectory: boolean) => boolean;
}

export function comparePaths(a: { path: string }, b: { path: string }): number {
  return byCodeUnits(a.path, b.path);
}

/** The matcher for a directory's .dockerignore (Docker's rules, case-sensitive), or undefined. */
function readDockerignore(
  directory: string,
): { ignores: (p: string) => boolean; hasExceptions: boolean } | undefined {
  const file = path.join(directory, '.dockerignore');
  // A symlinked .dockerignore is not followed either: it could point anywhere.
  if (lstatSync(file, { throwIfNoEntry: false })?.isFile() !== true) return undefined;
  const text = readFileSync(file, 'utf8');
  const lines = text.split(/\r?\n/);
  // The package is CommonJS; its factory is both module.exports and module.exports.default.
  const matcher = dockerignore.default({ ignorecase: false }).add(lines);
  return {
    ignores: (p) => matcher.ignores(p),
    hasExceptions: lines.some((line) => line.trim().startsWith('!')),
  };
}

/**
 * Lists a function directory as it goes into the build context, sorted by path: regular files,
 * symlinks (recorded as links, never followed, so nothing outside the directory gets in) and
 * directories. The directory's .dockerignore applies with Docker's rules, as `docker build` would
 * apply it with the directory as its context; `.git` directories are always left out.
 * Synchronous: a function directory is a few small files, and every caller awaits packaging with
 * nothing else to do meanwhile.
 */
export function readBuildContext(directory: string, options: ReadContextOptions = {}): ContextEntry[] {
  const ignore = readDockerignore(directory);
  const entries: ContextEntry[] = [];
  function walk(relative: string): void {
    const children = readdirSync(path.join(directory, relative), { withFileTypes: true });
    for (const child of children) {
      const rel = relative === '' ? child.name : `${relative}/${child.name}`;
      const full = path.join(directory, rel);
      const isDirectory = child.isDirectory();
      if (isDirectory && child.name === '.git') continue;
      if (options.exclude?.(rel, isDirectory)) continue;
      const ignored = ignore?.ignores(rel) ?? false;
      if (isDirectory) {
        // An ignored directory is still walked when a "!" pattern could bring back a file in it.
        if (ignored && !ignore?.hasExceptions) continue;
        if (!ignored) entries.push({ path: rel, kind: 'dir', executable: false, data: Buffer.alloc(0) });
        walk(rel);
        continue;
      }
      if (ignored) continue;
      if (child.isSymbolicLink()) {
        entries.push({
          path: rel,
          kind: 'symlink',
          executable: false,
          data: Buffer.from(readlinkSync(full)),
        });
      } else if (child.isFile()) {
        const file = readRegularFile(full);
        if (file) entries.push({ path: rel, kind: 'file', executable: file.executable, data: file.data });
      }
      // Sockets, FIFOs and devices have no place in an image: left out, as docker leaves them.
    }
  }
  walk('');
  return entries.sort(comparePaths);
}

/**
 * A regular file's bytes and executable bit from one open descriptor: never through a symbolic
 * link (O_NOFOLLOW), never what replaced the file between the listing and the read. Undefined for
 * what is no longer a regular file.
 */
function readRegularFile(file: string): { executable: boolean; data: Buffer } | undefined {
  const fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) return undefined;
    return { executable: (stat.mode & 0o111) !== 0, data: readFileSync(fd) };
  } finally {
    closeSync(fd);
  }
}

/** Safe relative path: no absolute path, no `..`, no empty segment. */
function assertInside(relative: string): void {
  if (
    relative === '' ||
    relative.startsWith('/') ||
    relative.split('/').some((part) => part === '' || part === '.' || part === '..')
  ) {
    throw new Error(`Build context path "${relative}" is not a plain relative path.`);
  }
}

/** The modification time every written file gets, so that copied layers do not depend on when. */
const FIXED_MTIME = new Date('2000-01-01T00:00:00Z');

/**
 * Writes entries into an empty directory: files with mode 0644 (0755 when executable), directories
 * 0755 whatever the umask, symlinks as links, all with one fixed modification time. What is written
 * is exactly what the tag hashed, so equal tags give equal COPY layers.
 */
export async function writeEntries(entries: readonly ContextEntry[], target: string): Promise<void> {
  const directories = new Set<string>(['']);
  const addParents = (relative: string): void => {
    const parts = relative.split('/');
    for (let i = 1; i < parts.length; i++) directories.add(parts.slice(0, i).join('/'));
  };
  await mkdir(target, { recursive: true });
  for (const entry of [...entries].sort(comparePaths)) {
    assertInside(entry.path);
    addParents(entry.path);
    const full = path.join(target, ...entry.path.split('/'));
    await mkdir(path.dirname(full), { recursive: true });
    if (entry.kind === 'dir') {
      directories.add(entry.path);
      await mkdir(full, { recursive: true });
    } else if (entry.kind === 'symlink') {
      await symlink(entry.data.toString(), full);
      await lutimes(full, FIXED_MTIME, FIXED_MTIME);
    } else {
      await writeFile(full, entry.data);
      await chmod(full, entry.executable ? 0o755 : 0o644);
      await utimes(full, FIXED_MTIME, FIXED_MTIME);
    }
  }
  // Deepest first, so setting a directory's time is not undone by writing into it.
  for (const dir of [...directories].sort((a, b) => b.length - a.length)) {
    const full = path.join(target, ...dir.split('/').filter((part) => part !== ''));
    await chmod(full, 0o755);
    await utimes(full, FIXED_MTIME, FIXED_MTIME);
  }
}
