import { writeSync } from 'node:fs';

/**
 * Writes the CLI's output straight to a file descriptor (1 or 2) with write(2), without creating
 * process.stdout: for a pipe that stream is a net.Socket, and creating it loads net and the streams
 * (~6 ms of a `faas-deploy plan` that must start about as fast as node itself, issue #4).
 *
 * Whatever the descriptor is (terminal, file, pipe), the bytes are written in order and whole. A
 * descriptor another process left non-blocking can answer EAGAIN when its pipe is full; from then
 * on this writer hands everything to the stream, which waits for the pipe and flushes it before
 * the process exits. EPIPE (the reader went away, as in `faas-deploy plan --json | head`) calls
 * `onClosed`, once.
 */
export interface FdWriter {
  (text: string): void;
  /** True once output went to the stream, which may still be writing it. */
  readonly streaming: boolean;
}

export function fdWriter(
  fd: number,
  stream: () => NodeJS.WritableStream,
  onClosed: () => void,
  write: (fd: number, buffer: Buffer, offset: number) => number = writeSync,
): FdWriter {
  let fallback: NodeJS.WritableStream | undefined;
  let closed = false;
  const writer = (text: string): void => {
    if (closed) return;
    if (fallback) {
      fallback.write(text);
      return;
    }
    const buffer = Buffer.from(text, 'utf8');
    let offset = 0;
    while (offset < buffer.length) {
      try {
        offset += write(fd, buffer, offset);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') {
          fallback = stream();
          fallback.write(buffer.subarray(offset));
          return;
        }
        if (code === 'EPIPE') {
          closed = true;
          onClosed();
          return;
        }
        throw error;
      }
    }
  };
  return Object.defineProperty(writer, 'streaming', { get: () => fallback !== undefined }) as FdWriter;
}
