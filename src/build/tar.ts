/**
 * The build context as a gzipped tar (POSIX ustar, with pax headers for long or non-ASCII names),
 * byte for byte the same for the same entries: fixed owner 0:0, modes 0644/0755, one fixed mtime —
 * the same normalisation writeBuildContext applies on disk, so kaniko builds the same layers from
 * either. This is how the context travels to a Tekton TaskRun (kaniko's `--context=tar://…`).
 */
import { gzipSync } from 'node:zlib';
import type { ContextEntry } from '../package/build-context.js';
import type { BuildRequest } from './types.js';

const BLOCK = 512;
/** 2000-01-01T00:00:00Z, as writeEntries in src/package/build-context.ts. */
const FIXED_MTIME = 946_684_800;

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

function header(fields: {
  name: string;
  mode: number;
  size: number;
  type: '0' | '2' | '5' | 'x';
  linkname?: string;
  prefix?: string;
}): Buffer {
  const block = Buffer.alloc(BLOCK);
  block.write(fields.name, 0, 100, 'utf8');
  block.write(octal(fields.mode, 8), 100, 8, 'ascii');
  block.write(octal(0, 8), 108, 8, 'ascii');
  block.write(octal(0, 8), 116, 8, 'ascii');
  block.write(octal(fields.size, 12), 124, 12, 'ascii');
  block.write(octal(FIXED_MTIME, 12), 136, 12, 'ascii');
  block.write('        ', 148, 8, 'ascii');
  block.write(fields.type, 156, 1, 'ascii');
  if (fields.linkname) block.write(fields.linkname, 157, 100, 'utf8');
  block.write('ustar\0', 257, 6, 'ascii');
  block.write('00', 263, 2, 'ascii');
  if (fields.prefix) block.write(fields.prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return block;
}

function padding(size: number): Buffer {
  const rest = size % BLOCK;
  return Buffer.alloc(rest === 0 ? 0 : BLOCK - rest);
}

/** A pax record `<len> <key>=<value>\n`, where len counts the whole record including itself. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(body) + 1;
  while (String(length).length + Buffer.byteLength(body) !== length) length++;
  return `${length}${body}`;
}

const isAscii = (s: string): boolean => /^[\x20-\x7e]*$/.test(s);

/** Splits a path into ustar prefix/name when it fits, else undefined. */
function ustarName(name: string): { name: string; prefix?: string } | undefined {
  if (!isAscii(name)) return undefined;
  if (name.length <= 100) return { name };
  for (let i = name.indexOf('/'); i >= 0; i = name.indexOf('/', i + 1)) {
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (prefix.length <= 155 && rest.length <= 100 && rest !== '') return { name: rest, prefix };
  }
  return undefined;
}

function entryBlocks(
  name: string,
  type: '0' | '2' | '5',
  mode: number,
  data: Buffer,
  linkname?: string,
): Buffer[] {
  const blocks: Buffer[] = [];
  const fitted = ustarName(name);
  const linkFits = linkname === undefined || (isAscii(linkname) && linkname.length <= 100);
  if (!fitted || !linkFits) {
    const records =
      (fitted ? '' : paxRecord('path', name)) + (linkFits ? '' : paxRecord('linkpath', linkname));
    const pax = Buffer.from(records, 'utf8');
    blocks.push(
      header({
        name: `PaxHeaders/${name.replace(/[^\x20-\x7e]/g, '_').slice(-80)}`,
        mode: 0o644,
        size: pax.length,
        type: 'x',
      }),
      pax,
      padding(pax.length),
    );
  }
  const short = fitted ?? { name: name.replace(/[^\x20-\x7e]/g, '_').slice(-100) };
  blocks.push(
    header({
      name: short.name,
      ...(short.prefix ? { prefix: short.prefix } : {}),
      mode,
      size: type === '0' ? data.length : 0,
      type,
      ...(linkname !== undefined ? { linkname: linkFits ? linkname : linkname.slice(0, 100) } : {}),
    }),
  );
  if (type === '0') blocks.push(data, padding(data.length));
  return blocks;
}

/** The entries of a build request plus its Dockerfile, with every parent directory listed. */
export function contextEntries(
  request: Pick<BuildRequest, 'entries' | 'dockerfile' | 'dockerfilePath'>,
): ContextEntry[] {
  const byPath = new Map<string, ContextEntry>();
  for (const entry of request.entries)
    if (entry.path !== request.dockerfilePath) byPath.set(entry.path, entry);
  byPath.set(request.dockerfilePath, {
    path: request.dockerfilePath,
    kind: 'file',
    executable: false,
    data: Buffer.from(request.dockerfile, 'utf8'),
  });
  for (const p of [...byPath.keys()]) {
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (!byPath.has(dir))
        byPath.set(dir, { path: dir, kind: 'dir', executable: false, data: Buffer.alloc(0) });
    }
  }
  return [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** An uncompressed tar of the entries. */
export function tarEntries(entries: readonly ContextEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    if (entry.kind === 'dir') blocks.push(...entryBlocks(`${entry.path}/`, '5', 0o755, Buffer.alloc(0)));
    else if (entry.kind === 'symlink')
      blocks.push(...entryBlocks(entry.path, '2', 0o777, Buffer.alloc(0), entry.data.toString()));
    else blocks.push(...entryBlocks(entry.path, '0', entry.executable ? 0o755 : 0o644, entry.data));
  }
  blocks.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(blocks);
}

/** The build context of a request as .tar.gz (deterministic). */
export function contextTarball(
  request: Pick<BuildRequest, 'entries' | 'dockerfile' | 'dockerfilePath'>,
): Buffer {
  return gzipSync(tarEntries(contextEntries(request)), { level: 9 });
}
