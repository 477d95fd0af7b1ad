import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cacheDirFor, isPrivateTo, KEEP_PER_COMMAND, loadScriptCached } from '../../src/cli/compile-cache.js';

// A CommonJS script with enough functions for V8 to cache, and exports to call.
const SCRIPT = `'use strict';
const table = {};
function word(n) { return ['zero', 'one', 'two', 'three'][n % 4]; }
function sentence(n) { const out = []; for (let i = 0; i < n; i++) out.push(word(i)); return out.join(' '); }
exports.sentence = sentence;
exports.dirname = __dirname;
exports.url = require('node:url').pathToFileURL(__filename).href;
module.exports.table = table;
`;

let dir: string;
let cacheDir: string;
let script: string;
const env = (): NodeJS.ProcessEnv => ({ TIERGUARD_COMPILE_CACHE: cacheDir });
const cacheFiles = (): string[] => readdirSync(cacheDir).filter((f) => f.endsWith('.v8cache'));

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'tierguard-compile-cache-'));
  cacheDir = path.join(dir, 'cache');
  script = path.join(dir, 'bundle.cjs');
  writeFileSync(script, SCRIPT);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

// The CommonJS copy bin/tierguard.js loads (scripts/build-cli.mjs builds it from src/cli/compile-cache.ts).
const compiled = path.join(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'dist', 'bundle', 'load-script.cjs');
const CHILD = `import { setFlagsFromString } from 'node:v8';
import { loadScriptCached } from ${JSON.stringify(compiled)};
const flags = process.argv[3] ?? '';
if (flags) setFlagsFromString(flags);
const loaded = loadScriptCached(process.argv[1], process.argv[2], process.env, flags);
process.stdout.write(JSON.stringify({ cache: loaded.cache, sentence: loaded.exports.sentence(5) }));
loaded.save();`;

/**
 * Loads the script in a process of its own (V8 keeps what it compiled in memory, and a second
 * load in the same process would not read the cache at all), runs what a command would, and
 * saves the cache as bin/tierguard.js does (dist/bundle/load-script.cjs: `npm test` builds first).
 */
function run(name = 'lint', e = env(), v8Flags?: string): { cache: string; sentence: string } {
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', CHILD, script, name, ...(v8Flags ? [v8Flags] : [])], { encoding: 'utf8', env: { PATH: process.env.PATH, ...e } });
  expect(child.stderr).toBe('');
  const out = JSON.parse(child.stdout) as { cache: string; sentence: string };
  expect(out.sentence).toMatch(/^(zero|nil!|null) one two three (zero|nil!|null)$/);
  return out;
}

describe('the short commands’ code cache', () => {
  it('runs the script as CommonJS', () => {
    const loaded = loadScriptCached(script, 'lint', { TIERGUARD_COMPILE_CACHE: 'off' });
    expect((loaded.exports.sentence as (n: number) => string)(5)).toBe('zero one two three zero');
    expect(loaded.exports.dirname).toBe(dir);
    expect(loaded.exports.url).toBe(`file://${script}`);
    expect(loaded.exports.table).toEqual({});
    expect(loaded.cache).toBe('off');
  });

  it('writes the cache after the first run, in a private folder, and takes it on the next', () => {
    expect(run().cache).toBe('miss');
    const files = cacheFiles();
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(new RegExp(`^lint-.+-${process.version.replace(/\./g, '\\.')}-${process.arch}-.+\\.v8cache$`));
    expect(statSync(cacheDir).mode & 0o777).toBe(0o700);
    expect(statSync(path.join(cacheDir, files[0] as string)).mode & 0o777).toBe(0o600);
    expect(run().cache).toBe('hit');
    expect(cacheFiles()).toEqual(files);
  });

  // bin/tierguard.js sets V8 flags at run time for the short commands (`--no-opt` …), which
  // execArgv does not show; V8 refuses a cache made under other flags.
  it('keeps a cache per set of V8 flags set at run time', () => {
    expect(run('lint', env()).cache).toBe('miss');
    expect(run('lint', env()).cache).toBe('hit');
    expect(run('lint', env(), '--no-opt').cache).toBe('miss');
    expect(run('lint', env(), '--no-opt').cache).toBe('hit');
    expect(run('lint', env()).cache).toBe('hit');
    expect(cacheFiles()).toHaveLength(2);
  });

  it('keeps a cache per command', () => {
    run('lint');
    expect(run('check-runner').cache).toBe('miss');
    expect(cacheFiles().map((f) => f.split('-')[0]).sort()).toEqual(['check', 'lint']);
    expect(run('check-runner').cache).toBe('hit');
  });

  it('does not use the cache of another build of the script, and keeps the newest few builds’ caches', () => {
    run();
    const before = cacheFiles();
    // Same length, other bytes: V8 alone would take the old cache (it checks only the length).
    // A new file in its place, as a build or an upgrade leaves it.
    writeFileSync(`${script}.new`, SCRIPT.replace("'zero'", "'nil!'"));
    renameSync(`${script}.new`, script);
    expect(run()).toEqual({ cache: 'miss', sentence: 'nil! one two three nil!' });
    expect(run()).toEqual({ cache: 'hit', sentence: 'nil! one two three nil!' });
    const after = cacheFiles();
    expect(after).toHaveLength(2);
    expect(after).toEqual(expect.arrayContaining(before));

    // Older builds' files beyond KEEP_PER_COMMAND go, the oldest first; other commands' stay.
    const old = (n: number) => path.join(cacheDir, `lint-old${n}-v0-x64-0.v8cache`);
    for (let n = 0; n < KEEP_PER_COMMAND; n++) {
      writeFileSync(old(n), 'x', { mode: 0o600 });
      utimesSync(old(n), 1000 + n, 1000 + n);
    }
    writeFileSync(path.join(cacheDir, 'check-runner-old-v0-x64-0.v8cache'), 'x', { mode: 0o600 });
    utimesSync(path.join(cacheDir, 'check-runner-old-v0-x64-0.v8cache'), 1, 1);
    writeFileSync(`${script}.new`, SCRIPT.replace("'zero'", "'null'"));
    renameSync(`${script}.new`, script);
    expect(run().cache).toBe('miss');
    const kept = cacheFiles();
    expect(kept.filter((f) => f.startsWith('lint-'))).toHaveLength(KEEP_PER_COMMAND);
    expect(kept).not.toContain(path.basename(old(0)));
    expect(kept).not.toContain(path.basename(old(1)));
    expect(kept).not.toContain(path.basename(old(2)));
    expect(kept).toContain(path.basename(old(3)));
    expect(kept).toEqual(expect.arrayContaining(after));
    expect(kept).toContain('check-runner-old-v0-x64-0.v8cache');
  });

  it('refuses a damaged cache, runs the script all the same, and writes a good one', () => {
    run();
    const [file] = cacheFiles();
    writeFileSync(path.join(cacheDir, file as string), Buffer.alloc(4096, 7), { mode: 0o600 });
    expect(run().cache).toBe('rejected');
    expect(run().cache).toBe('hit');
    // Far larger than any cache (a sparse file): not read at all.
    truncateSync(path.join(cacheDir, file as string), 65 * 1024 * 1024);
    expect(run().cache).toBe('miss');
    expect(statSync(path.join(cacheDir, file as string)).size).toBeLessThan(1024 * 1024);
    expect(run().cache).toBe('hit');
  });

  it('does not read a cache file that others can write, nor one behind a symbolic link', () => {
    run();
    const [file] = cacheFiles();
    const cached = path.join(cacheDir, file as string);
    chmodSync(cached, 0o666);
    expect(run().cache).toBe('miss');
    // save() put a private file in its place
    expect(statSync(cached).mode & 0o777).toBe(0o600);
    expect(run().cache).toBe('hit');

    const elsewhere = path.join(dir, 'elsewhere.v8cache');
    writeFileSync(elsewhere, 'x', { mode: 0o600 });
    rmSync(cached);
    symlinkSync(elsewhere, cached);
    expect(run().cache).toBe('miss');
    expect(readFileSync(elsewhere, 'utf8')).toBe('x');
  });

  it('uses no folder that others can write, and nothing at all when turned off', () => {
    mkdirSync(cacheDir, { mode: 0o777 });
    chmodSync(cacheDir, 0o777);
    expect(run().cache).toBe('off');
    expect(cacheFiles()).toEqual([]);
    chmodSync(cacheDir, 0o700);
    expect(run().cache).toBe('miss');

    rmSync(cacheDir, { recursive: true });
    for (const off of ['off', 'OFF', '0', 'false']) expect(run('lint', { TIERGUARD_COMPILE_CACHE: off, HOME: dir }).cache).toBe('off');
    expect(readdirSync(dir).sort()).toEqual(['bundle.cjs']);
  });

  it('a folder it cannot create costs only the speed-up', () => {
    writeFileSync(path.join(dir, 'file'), '');
    expect(run('lint', { TIERGUARD_COMPILE_CACHE: path.join(dir, 'file', 'cache') }).cache).toBe('off');
  });

  it('is private to its owner: owned by the user and writable by no one else', () => {
    expect(isPrivateTo({ uid: 1000, mode: 0o40700 }, 1000)).toBe(true);
    expect(isPrivateTo({ uid: 1000, mode: 0o100644 }, 1000)).toBe(true);
    expect(isPrivateTo({ uid: 1001, mode: 0o40700 }, 1000)).toBe(false);
    expect(isPrivateTo({ uid: 1000, mode: 0o40770 }, 1000)).toBe(false);
    expect(isPrivateTo({ uid: 1000, mode: 0o100602 }, 1000)).toBe(false);
    expect(isPrivateTo({ uid: 1000, mode: 0o100602 }, undefined)).toBe(true);
  });
});

describe('where the cache lives', () => {
  it('is the user’s cache folder unless told otherwise', () => {
    expect(cacheDirFor({ HOME: '/home/dev' })).toBe('/home/dev/.cache/tierguard');
    expect(cacheDirFor({ HOME: '/home/dev', XDG_CACHE_HOME: '/var/cache/dev' })).toBe('/var/cache/dev/tierguard');
    // XDG: a relative path is invalid and ignored
    expect(cacheDirFor({ HOME: '/home/dev', XDG_CACHE_HOME: 'cache' })).toBe('/home/dev/.cache/tierguard');
    expect(cacheDirFor({ HOME: '/home/dev', TIERGUARD_COMPILE_CACHE: '/srv/cache' })).toBe('/srv/cache');
    expect(cacheDirFor({ HOME: '/home/dev', TIERGUARD_COMPILE_CACHE: 'off' })).toBeUndefined();
  });
});
