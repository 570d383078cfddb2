import { main } from './cli.js';
import { fdWriter } from './util/fd-writer.js';

// A reader that stops early (`faas-deploy plan --json | head`) closes the pipe: stop quietly, as
// Unix tools do, instead of an unhandled EPIPE with a stack trace.
function readerGone(): never {
  process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
}

function quietOnEpipe(stream: NodeJS.WriteStream): NodeJS.WriteStream {
  return stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    readerGone();
  });
}

// Written with write(2), not through process.stdout and process.stderr (src/util/fd-writer.ts).
// No top-level await: this is the CommonJS bundle dist/cli-main.cjs (see scripts/build.mjs).
const stdout = fdWriter(1, () => quietOnEpipe(process.stdout), readerGone);
const stderr = fdWriter(2, () => quietOnEpipe(process.stderr), readerGone);
void main(process.argv.slice(2), { stdout, stderr }).then((code) => {
  process.exitCode = code;
  // Everything is written: exit now instead of letting Node free the heap first (a few ms after a
  // plan of a thousand functions). Not while a stream may still be writing the output.
  if (!stdout.streaming && !stderr.streaming) process.exit(code);
});
