import { createHash } from 'node:crypto';
import { byCodeUnits } from '../util/sort.js';
import type { ContextEntry } from './build-context.js';

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
  const hash = createHash('sha256');
  const field = (value: string | Buffer): void => {
    const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
    hash.update(`${bytes.length}:`).update(bytes);
  };
  field('faas-deploy/content-tag/1');
  field(templateVersion);
  field(dockerfile);
  for (const entry of [...entries].sort((a, b) => byCodeUnits(a.path, b.path))) {
    field(entry.path);
    field(entry.kind === 'dir' ? 'd' : entry.kind === 'symlink' ? 'l' : entry.executable ? 'x' : 'f');
    field(entry.data);
  }
  return `ctx-${hash.digest('hex').slice(0, 32)}`;
}
