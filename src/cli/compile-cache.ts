/**
 * A code cache for the short CLI commands (`lint`, `jobs`, `check-runner`; bin/tierguard.js).
 *
 * Why: those runs are over in a fraction of a second, and a large part of that is V8 compiling
 * the functions the run calls (each one the first time it is called, since V8 compiles lazily).
 * Node 22's own compile cache (`module.enableCompileCache`) keeps only what is compiled when a
 * module is loaded, which for a bundle is little more than its top level. Here the cache is
 * taken after the command has run (`vm.Script#createCachedData`), so it holds every function the
 * run compiled: a warm `lint` of real-pipelines/cmake takes 0.82-0.85x the time on Node 20, 22
 * and 24 (paired runs; `npm run bench` measures it against gitlab-ci-local).
 *
 * The bundle this loads is the CLI built as one CommonJS script (dist/bundle/tierguard.cjs,
 * scripts/build-cli.mjs): V8's code cache is for scripts, and Node's ES module loader takes no
 * cached data.
 *
 * What could go wrong, and what is done about it:
 * - The cache is bytecode that the process runs: whoever can write it can run code as the user.
 *   It lives in the user's own cache folder (`$XDG_CACHE_HOME/tierguard` or
 *   `~/.cache/tierguard`), created 0700; a folder or file that is not the user's own, or that
 *   others can write, is neither read nor written. Never in a shared temp folder.
 * - Stale bytecode for a changed bundle: the file name says which build of the bundle it was
 *   made from (V8 itself checks only the source's length), the Node version, the architecture
 *   and the command line's V8 flags; V8 also refuses data from another V8 or other flags.
 * - A cache that cannot be read or written (read-only home, a container's nonroot user) costs
 *   only the speed-up: every failure here falls back to compiling, and nothing is printed.
 * - `TIERGUARD_COMPILE_CACHE=DIR` puts the cache elsewhere; `TIERGUARD_COMPILE_CACHE=off` turns
 *   it off.
 */
import { accessSync, closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, readSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import path from 'node:path';
import vm from 'node:vm';

/** What a loaded bundle gives back: its exports, and `save()` to run once the command is over. */
export interface LoadedScript {
  exports: Record<string, unknown>;
  /** How the cache answered: `hit` (V8 took it), `miss` (none), `rejected` (V8 refused it) or `off`. */
  cache: 'hit' | 'miss' | 'rejected' | 'off';
  /** Writes the cache when there was none or V8 refused it (a no-op otherwise); never throws. */
  save(): void;
}

const SUFFIX = '.v8cache';

/** The cache folder from the environment, or undefined when turned off or there is no home. */
export function cacheDirFor(env: NodeJS.ProcessEnv): string | undefined {
  const configured = env.TIERGUARD_COMPILE_CACHE;
  if (configured !== undefined && configured !== '') {
    return ['off', '0', 'false', 'no'].includes(configured.toLowerCase()) ? undefined : path.resolve(configured);
  }
  const xdg = env.XDG_CACHE_HOME;
  if (xdg && path.isAbsolute(xdg)) return path.join(xdg, 'tierguard');
  let home: string;
  try {
    home = env.HOME || homedir();
  } catch {
    return undefined;
  }
  return home && path.isAbsolute(home) ? path.join(home, '.cache', 'tierguard') : undefined;
}

/** Owned by `uid` and writable by nobody else (POSIX); without uids (Windows) nothing to check. */
export function isPrivateTo(stat: { uid: number; mode: number }, uid: number | undefined): boolean {
  return uid === undefined || (stat.uid === uid && (stat.mode & 0o022) === 0);
}

const ownedAndPrivate = (stat: { uid: number; mode: number }): boolean => isPrivateTo(stat, process.getuid?.());

/** The cache folder, created if missing, or undefined when it is not safe or not possible. */
function usableDir(dir: string): string | undefined {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const stat = lstatSync(dir);
    return stat.isDirectory() && ownedAndPrivate(stat) ? dir : undefined;
  } catch {
    return undefined;
  }
}

/** The first `size` bytes of an open file, or undefined when it holds fewer (it shrank meanwhile). */
function readWhole(fd: number, size: number): Buffer | undefined {
  const data = Buffer.allocUnsafe(size);
  let read = 0;
  while (read < size) {
    const n = readSync(fd, data, read, size - read, read);
    if (n === 0) return undefined;
    read += n;
  }
  return data;
}

/** A cache is about 1 MB (the whole CLI compiled is under 3 MB): anything far larger is not one. */
const MAX_CACHE_BYTES = 64 * 1024 * 1024;

/** The cache file's bytes, if it is a regular file of this user's that nobody else can write. */
function readPrivateFile(file: string): Buffer | undefined {
  let fd: number | undefined;
  try {
    // O_NOFOLLOW: a symbolic link in the cache folder is not followed (Windows has no such flag: 0).
    fd = openSync(file, constants.O_RDONLY | (constants.O_NOFOLLOW as number | undefined ?? 0));
    const stat = fstatSync(fd);
    if (!stat.isFile() || !ownedAndPrivate(stat) || stat.size > MAX_CACHE_BYTES) return undefined;
    return readWhole(fd, stat.size);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Writes through a temporary file and a rename, so a reader sees the old file or the new one, whole. */
function writeAtomically(file: string, data: Buffer): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, data, { mode: 0o600, flag: 'wx' });
    renameSync(tmp, file);
  } catch {
    try {
      unlinkSync(tmp);
    } catch {
      /* nothing was written */
    }
  }
}

/**
 * How many cache files a command keeps. Each build of the script, Node version and set of V8
 * flags has its own; an upgrade leaves the old build's behind, while two installs used in turn
 * (a global one and a project's, or the bench's Node 20, 22 and 24) each need theirs kept.
 */
export const KEEP_PER_COMMAND = 8;

/** Removes this command's oldest cache files beyond KEEP_PER_COMMAND (by when they were written). */
function pruneOldest(dir: string, name: string): void {
  try {
    const mine = readdirSync(dir)
      .filter((entry) => entry.startsWith(`${name}-`) && entry.endsWith(SUFFIX))
      .map((entry) => ({ file: path.join(dir, entry), written: lstatSync(path.join(dir, entry)).mtimeMs }))
      .sort((a, b) => b.written - a.written);
    for (const old of mine.slice(KEEP_PER_COMMAND)) unlinkSync(old.file);
  } catch {
    /* an old file left behind costs only disk space */
  }
}

/** FNV-1a, 32 bits, of a short string (the V8 flags): a file-name key, not a checksum. */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(36);
}

/**
 * Runs `file`, a CommonJS script, with its code cache for `name` (the command), and returns its
 * exports. `env` says where the cache is (cacheDirFor); `v8Flags`, the V8 flags the caller set
 * at run time (v8.setFlagsFromString), which a cache made under other flags does not suit.
 */
export function loadScriptCached(file: string, name: string, env: NodeJS.ProcessEnv, v8Flags = ''): LoadedScript {
  const fd = openSync(file, 'r');
  let source: string;
  let build: string;
  try {
    // Which build of the bundle: its size, inode and change time (nanoseconds), which the
    // kernel sets when the file is written and nothing can set back (npm gives installed files
    // one fixed mtime, so mtime alone would not tell two releases apart). Hashing the bytes would
    // load node:crypto, a few milliseconds of a run this is meant to shorten.
    const stat = fstatSync(fd, { bigint: true });
    build = `${stat.size.toString(36)}.${stat.ino.toString(36)}.${stat.ctimeNs.toString(36)}`;
    const bytes = readWhole(fd, Number(stat.size));
    if (!bytes) throw new Error(`${file} changed while it was read`);
    // The bundle is ASCII (esbuild escapes everything else; scripts/build-cli.mjs checks), so
    // latin1 decodes it exactly, and faster than utf8.
    source = bytes.toString('latin1');
  } finally {
    closeSync(fd);
  }
  const configured = cacheDirFor(env);
  const dir = configured === undefined ? undefined : usableDir(configured);
  // V8 refuses a cache made under other V8 flags; the key keeps each set of flags its own file.
  // `v8Flags`: what the caller set with v8.setFlagsFromString, which execArgv does not show.
  const flags = fnv1a(`${process.execArgv.join(' ')}\0${env.NODE_OPTIONS ?? ''}\0${v8Flags}`);
  const cacheFile = dir === undefined ? undefined : path.join(dir, `${name}-${build}-${process.version}-${process.arch}-${flags}${SUFFIX}`);
  const cachedData = cacheFile === undefined ? undefined : readPrivateFile(cacheFile);

  const wrapper = `(function (exports, require, module, __filename, __dirname) {${source}\n})`;
  const script = new vm.Script(wrapper, {
    filename: file,
    ...(cachedData ? { cachedData } : {}),
  });
  const cache: LoadedScript['cache'] = cacheFile === undefined ? 'off' : !cachedData ? 'miss' : script.cachedDataRejected ? 'rejected' : 'hit';
  const module = { exports: {} as Record<string, unknown> };
  (script.runInThisContext() as (...args: unknown[]) => void)(module.exports, createRequire(file), module, file, path.dirname(file));

  return {
    exports: module.exports,
    cache,
    save() {
      if (cacheFile === undefined || dir === undefined || cache === 'hit') return;
      try {
        // A folder that cannot be written (a read-only home mounted into a container): not
        // worth serialising the cache, some milliseconds, on every run.
        accessSync(dir, constants.W_OK);
        // Taken now, after the run: it holds every function the command compiled.
        const data = script.createCachedData();
        // Nothing to keep (V8 made no data): an empty file would be refused, and rewritten, every run.
        if (data.length === 0) return;
        writeAtomically(cacheFile, data);
        pruneOldest(dir, name);
      } catch {
        /* the next run compiles again */
      }
    },
  };
}
