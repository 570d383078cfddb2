import type { ContextEntry } from './build-context.js';
import { createSha256 } from './sha256.js';

/**
 * The image tag for a build: a hash of the build context (relative paths, entry kinds, executable
 * bits, bytes, sorted), the rendered Dockerfile (which names the base images) and the template
 * version. Every field is length-prefixed, so no two different inputs run together into the same
 * bytes. The same inputs give the same tag on every machine; any change to them gives another.
 */
export function contentTag(
  entries: readonly ContextEntry[],
  dockerfile: string,
  templateVersion: string,
): string {
  // The fields go to the hash as one buffer: one update instead of two per field.
  const parts: Buffer[] = [];
  const field = (value: string | Buffer): void => {
    const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
    parts.push(Buffer.from(`${bytes.length}:`, 'latin1'), bytes);
  };
  field('faas-deploy/content-tag/1');
  field(templateVersion);
  field(dockerfile);
  const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const entry of sorted) {
    field(entry.path);
    field(entry.kind === 'dir' ? 'd' : entry.kind === 'symlink' ? 'l' : entry.executable ? 'x' : 'f');
    field(entry.data);
  }
  return `ctx-${createSha256().update(Buffer.concat(parts)).digest().slice(0, 32)}`;
}
