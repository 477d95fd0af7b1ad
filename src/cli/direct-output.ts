/**
 * The output of the short commands (`lint`, `jobs`, `check-runner`; bin/tierguard.js), written
 * to the file descriptor at once instead of through process.stdout and process.stderr.
 *
 * Why: opening process.stdout on a pipe (a CI job's log, `| jq`, the bench's paired runs) makes
 * a net.Socket, which loads Node's net module and sets up a stream handle: about 20 million
 * instructions of a `lint` of CMake's pipeline on Node 20, 1.3% of the whole run (cachegrind),
 * for one write at the end of the command.
 *
 * A pipe that cannot take the whole text now (EAGAIN: a parent that is not Node made it
 * non-blocking, and it is full) gets the rest, and every later write, through the stream, which
 * waits for the reader; Node and npm give their children blocking descriptors (libuv's
 * `uv__process_child_init`), where a write waits until the reader has taken everything. A
 * reader that has gone (EPIPE: `tierguard lint | head`) is the caller's to handle, as for the
 * streams.
 */
import { writeSync as fsWriteSync } from 'node:fs';

export interface DirectWriterOptions {
  /** The descriptor's stream (process.stdout for 1), opened only once a write must wait. */
  stream(): { write(chunk: Uint8Array | string): unknown };
  /** The reader has closed the pipe (EPIPE); the bin ends the run quietly. */
  gone(err: Error): void;
  /** `fs.writeSync`, or a stand-in in tests. */
  writeSync?: (fd: number, buffer: Uint8Array, offset: number, length: number) => number;
}

/** A `write(text)` for CliIO that writes to `fd` synchronously, whole, in order. */
export function directWriter(fd: number, opts: DirectWriterOptions): { write(text: string): unknown } {
  const writeSync = opts.writeSync ?? fsWriteSync;
  let viaStream = false;
  return {
    write(text: string) {
      // Once the stream holds output, everything after it goes behind it, in order.
      if (viaStream) return opts.stream().write(text);
      const bytes = Buffer.from(text, 'utf8');
      let done = 0;
      try {
        // A write may take only part (a signal, a pipe's free space): the rest goes next.
        while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') {
          viaStream = true;
          return opts.stream().write(bytes.subarray(done));
        }
        if (code === 'EPIPE') {
          opts.gone(err as Error);
          return false;
        }
        throw err;
      }
      return true;
    },
  };
}
