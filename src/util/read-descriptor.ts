import { readSync } from 'node:fs';

/**
 * The first `size` bytes of an open file, read by position whatever the descriptor's offset (which
 * another process sharing it may have moved); fewer when the file is shorter by now.
 */
export function readFromStart(fd: number, size: number): Buffer {
  const data = Buffer.allocUnsafe(size);
  let read = 0;
  while (read < size) {
    const n = readSync(fd, data, read, size - read, read);
    if (n === 0) break;
    read += n;
  }
  return read === size ? data : data.subarray(0, read);
}
