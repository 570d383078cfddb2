import { closeSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { fdWriter } from '../../src/util/fd-writer.js';

const never = (): NodeJS.WritableStream => {
  throw new Error('the stream must not be created');
};

function errno(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(code), { code });
}

describe('fdWriter', () => {
  it('writes every byte, in order, to a real file descriptor', () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'faas-fd-')), 'out');
    const fd = openSync(file, 'w');
    const write = fdWriter(fd, never, () => {
      throw new Error('not closed');
    });
    write('héllo ');
    write('wörld\n');
    write('x'.repeat(1 << 20));
    closeSync(fd);
    expect(write.streaming).toBe(false);
    expect(readFileSync(file, 'utf8')).toBe(`héllo wörld\n${'x'.repeat(1 << 20)}`);
  });

  it('goes on after a short write', () => {
    const written: string[] = [];
    const write = fdWriter(
      1,
      never,
      () => undefined,
      (_fd, buffer, offset) => {
        const end = Math.min(buffer.length, offset + 3);
        written.push(buffer.subarray(offset, end).toString('latin1'));
        return end - offset;
      },
    );
    write('abcdefgh');
    expect(written).toEqual(['abc', 'def', 'gh']);
  });

  it('hands the rest to the stream when the descriptor is non-blocking and full (EAGAIN)', () => {
    const stream = new PassThrough();
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    let calls = 0;
    const write = fdWriter(
      1,
      () => stream,
      () => undefined,
      () => {
        calls += 1;
        if (calls === 1) return 2;
        throw errno('EAGAIN');
      },
    );
    write('abcdef');
    expect(write.streaming).toBe(true);
    write('ghi');
    expect(calls).toBe(2);
    expect(Buffer.concat(chunks).toString()).toBe('cdefghi');
  });

  it('calls onClosed once when the reader is gone (EPIPE), then writes nothing', () => {
    let closed = 0;
    let calls = 0;
    const write = fdWriter(
      1,
      never,
      () => {
        closed += 1;
      },
      () => {
        calls += 1;
        throw errno('EPIPE');
      },
    );
    write('a');
    write('b');
    expect([closed, calls]).toEqual([1, 1]);
  });

  it('throws any other error', () => {
    const write = fdWriter(
      1,
      never,
      () => undefined,
      () => {
        throw errno('EIO');
      },
    );
    expect(() => {
      write('a');
    }).toThrow('EIO');
  });
});
