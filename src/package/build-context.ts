import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import path from 'node:path';

export interface ContextEntry {
  /** Relative to the context root, forward slashes. */
  path: string;
  kind: 'file' | 'symlink';
  /** Only the executable bit is kept: umask and checkout differences must not change the tag. */
  executable: boolean;
  /** File bytes, or the link target for a symlink (never followed). */
  data: Buffer;
}

/**
 * Lists the files of a function directory as they will be sent to the builder, in a stable order.
 * Symlinks are recorded as links, never followed, so nothing outside the directory leaks in.
 */
export async function readBuildContext(directory: string): Promise<ContextEntry[]> {
  const entries: ContextEntry[] = [];
  async function walk(relative: string): Promise<void> {
    const children = await readdir(path.join(directory, relative), { withFileTypes: true });
    for (const child of children) {
      const rel = relative === '' ? child.name : `${relative}/${child.name}`;
      const full = path.join(directory, rel);
      if (child.isDirectory()) {
        if (child.name === '.git') continue;
        await walk(rel);
      } else if (child.isSymbolicLink()) {
        entries.push({
          path: rel,
          kind: 'symlink',
          executable: false,
          data: Buffer.from(await readlink(full)),
        });
      } else if (child.isFile()) {
        const stat = await lstat(full);
        entries.push({
          path: rel,
          kind: 'file',
          executable: (stat.mode & 0o111) !== 0,
          data: await readFile(full),
        });
      }
    }
  }
  await walk('');
  return entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
