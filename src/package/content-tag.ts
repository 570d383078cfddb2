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
  // The fields go to the hash as one buffer, written in place: one allocation, not two per field
  // (a function of twenty files has some sixty fields).
  const fields: (string | Uint8Array)[] = ['faas-deploy/content-tag/1', templateVersion, dockerfile];
  const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const entry of sorted) {
    fields.push(
      entry.path,
      entry.kind === 'dir' ? 'd' : entry.kind === 'symlink' ? 'l' : entry.executable ? 'x' : 'f',
      entry.data,
    );
  }
  const lengths: number[] = [];
  let total = 0;
  for (const field of fields) {
    const length = typeof field === 'string' ? Buffer.byteLength(field, 'utf8') : field.length;
    lengths.push(length);
    total += `${length}:`.length + length;
  }
  const bytes = Buffer.allocUnsafe(total);
  let at = 0;
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i] ?? '';
    at += bytes.write(`${lengths[i] ?? 0}:`, at, 'latin1');
    if (typeof field === 'string') {
      at += bytes.write(field, at, 'utf8');
    } else {
      bytes.set(field, at);
      at += field.length;
    }
  }
  return `ctx-${createSha256().update(bytes).digest().slice(0, 32)}`;
}
