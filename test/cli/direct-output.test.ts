import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { directWriter } from '../../src/cli/direct-output.js';
import { main } from '../../src/cli/main.js';

const errno = (code: string): NodeJS.ErrnoException => Object.assign(new Error(`${code}: write`), { code });

/** A descriptor that takes at most `chunk` bytes a call, and fails with `failWith` once `limit` bytes are in. */
function fakeFd(chunk: number, limit = Infinity, failWith = 'EAGAIN') {
  const written: number[] = [];
  let calls = 0;
  const writeSync = (_fd: number, buffer: Uint8Array, offset: number, length: number): number => {
    calls++;
    if (written.length >= limit) throw errno(failWith);
    const n = Math.min(chunk, length, limit - written.length);
    written.push(...buffer.subarray(offset, offset + n));
    return n;
  };
  return { writeSync, text: () => Buffer.from(written).toString('utf8'), calls: () => calls };
}

/** A stand-in for process.stdout: what it was given, in order. */
function fakeStream() {
  const chunks: Buffer[] = [];
  let opened = 0;
  return {
    open: () => {
      opened++;
      return { write: (c: Uint8Array | string) => chunks.push(Buffer.from(c)) };
    },
    text: () => Buffer.concat(chunks).toString('utf8'),
    opened: () => opened,
  };
}

describe('directWriter (the short commands’ output)', () => {
  it('writes the whole text in order when the descriptor takes a few bytes at a time, multi-byte characters included', () => {
    const fd = fakeFd(3);
    const stream = fakeStream();
    const out = directWriter(1, { writeSync: fd.writeSync, stream: stream.open, gone: () => expect.unreachable('no EPIPE here') });
    out.write('héllo — wörld\n');
    out.write('{"findings": []}\n');
    expect(fd.text()).toBe('héllo — wörld\n{"findings": []}\n');
    expect(stream.opened()).toBe(0);
  });

  it('gives the rest to the stream once the descriptor would block (EAGAIN), and every later write too, in order', () => {
    const fd = fakeFd(4, 10);
    const stream = fakeStream();
    const out = directWriter(1, { writeSync: fd.writeSync, stream: stream.open, gone: () => expect.unreachable('no EPIPE here') });
    out.write('0123456789abcdef');
    const callsAfterFirst = fd.calls();
    out.write('-second\n');
    expect(fd.text()).toBe('0123456789');
    expect(stream.text()).toBe('abcdef-second\n');
    // Nothing more goes to the descriptor once the stream holds output (it would overtake it).
    expect(fd.calls()).toBe(callsAfterFirst);
  });

  it('hands a closed pipe (EPIPE) to the caller, and throws any other error', () => {
    const gone: Error[] = [];
    const closed = fakeFd(100, 0, 'EPIPE');
    expect(directWriter(1, { writeSync: closed.writeSync, stream: fakeStream().open, gone: (e) => gone.push(e) }).write('x')).toBe(false);
    expect(gone.map((e) => (e as NodeJS.ErrnoException).code)).toEqual(['EPIPE']);
    const bad = fakeFd(100, 0, 'EBADF');
    expect(() => directWriter(1, { writeSync: bad.writeSync, stream: fakeStream().open, gone: (e) => gone.push(e) }).write('x')).toThrow(/EBADF/);
    expect(gone).toHaveLength(1);
  });
});

describe('the bin’s short commands on a pipe', () => {
  const root = path.join(path.dirname(new URL(import.meta.url).pathname), '..', '..');
  const bin = path.join(root, 'bin', 'tierguard.js');
  const dir = mkdtempSync(path.join(tmpdir(), 'tierguard-direct-output-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const env = { ...process.env, TIERGUARD_COMPILE_CACHE: path.join(dir, 'cache') };
  // 1,500 jobs: `jobs --format json` prints about 1.2 MB, many times what a pipe holds.
  let yaml = '';
  for (let i = 0; i < 1500; i++) yaml += `job${i}:\n  tags: [ci-general]\n  script: [make]\n`;
  writeFileSync(path.join(dir, '.gitlab-ci.yml'), yaml + 'deploy:\n  environment: production\n  script: [./deploy.sh]\n');

  it('writes output far larger than a pipe holds, whole, as the sources print it', async () => {
    let expected = '';
    await main(['jobs', '--format', 'json', dir], { stdout: { write: (s: string) => (expected += s) }, stderr: { write: () => true }, cwd: root, env: {} });
    const run = spawnSync(process.execPath, [bin, 'jobs', '--format', 'json', dir], { encoding: 'utf8', env, maxBuffer: 64 * 1024 * 1024 });
    expect(run.status).toBe(0);
    expect(run.stderr).toBe('');
    expect(expected.length).toBeGreaterThan(1024 * 1024);
    expect(run.stdout).toBe(expected);
  });

  it('ends quietly when the reader has closed the pipe (`tierguard lint | true`)', () => {
    const r = spawnSync('bash', ['-c', `"${process.execPath}" "${bin}" lint "${dir}" | true; echo "status=\${PIPESTATUS[0]}"`], { encoding: 'utf8', env });
    expect(r.stderr).not.toMatch(/EPIPE|Unhandled|internal error/);
    expect(r.stdout).toMatch(/^status=[01]$/m);
  });
});
