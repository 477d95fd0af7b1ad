#!/usr/bin/env node
// Thin launcher: the CLI is bundled into dist/bundle/ by `npm run build` (run by `npm install`
// through `prepare`; scripts/build-cli.mjs), one file to load instead of hundreds of modules.
// A CommonJS script (bin/package.json): Node starts it without its ES module loader, a few
// milliseconds of every run on Node 20.
'use strict';
const path = require('node:path');

// Node >= 22.1 keeps compiled code between runs (in the OS temp folder); older Nodes lack it.
// A cache that cannot be written (read-only file system) only costs the speed-up.
try {
  require('node:module').enableCompileCache?.();
} catch {
  /* the CLI works the same without it */
}

// `lint`, `jobs` and `check-runner` are over in well under a second for a typical pipeline:
// TurboFan's optimizing compiles (V8's top tier) cost more CPU than they save before the process
// exits (measured on real-pipelines/cmake: `lint` 750 → 480 ms CPU, `jobs` 440 → 270 ms on
// Node 20; on a 900 KB, 1,900-job pipeline, GitLab's scale, no slower). Ignition and Sparkplug
// still run, and Maglev where it is on. `serve` and `audit` run long and keep every tier.
// Node 24 (V8 13.6) also turns Maglev, V8's mid tier, on by default (Node 20 and 22 leave it
// off): a function called 400 times is compiled again on the second core. Raised to 3,000 calls,
// a typical pipeline's run is mostly over before that (`lint` and `jobs` on real-pipelines/cmake
// and gitlab-runner: 11-21% less CPU, 3-12% less wall time) and the hot functions of a large one
// still get there (on a 1,989-job, 255 KB pipeline within a few percent of before; turning
// Maglev off made it 10-47% slower there). Set only on the Node that has Maglev on by default.
const command = process.argv[2] ?? '';
const shortRun = ['lint', 'jobs', 'check-runner'].includes(command);
let v8Flags = '';
if (shortRun) {
  const maglevOn = process.versions.node.split('.')[0] === '24';
  v8Flags = maglevOn ? '--no-opt --invocation-count-for-maglev=3000' : '--no-opt';
  require('node:v8').setFlagsFromString(v8Flags);
}

// `lint` (offline), `jobs` and `check-runner` load the CLI as one script through a code cache
// kept after each command's first run (src/cli/compile-cache.ts: much of what such a run spends
// is V8 compiling the functions it calls). `serve`, `audit` and the live checks load the split
// ES module bundle: they run long enough that compiling does not matter. scripts/build-cli.mjs
// leaves out of the script what only those load.
// A `lint` is live when it names --gitlab-url or --project, as main.ts's lintCommand reads them.
const live = command === 'lint' && process.argv.slice(3).some((a) => /^--(gitlab-url|project)(=|$)/.test(a));
const fromScript = shortRun && !live;
// `rules`, `explain`, `help` and `version` (and a mistyped command) import nothing at run time:
// they run from a small CommonJS script of main.ts's own code (dist/bundle/light.cjs), without
// Node's ES module loader. The short commands, `serve` and `audit` are those main.ts loads modules for.
const light = !shortRun && command !== 'serve' && command !== 'audit';
let afterRun = () => {};
/**
 * The CLI's `main`, from the light script, from the script (through its code cache) or from the
 * ES module bundle, with the output it writes to. The short and the light commands write to the
 * descriptors at once (src/cli/direct-output.ts): opening process.stdout on a pipe loads Node's
 * net module for one write at the end. `serve` and `audit` write through process.stdout and
 * process.stderr.
 */
function loadMain() {
  if (light) {
    const { main, directWriter } = require('../dist/bundle/light.cjs');
    return { main, stdout: direct(directWriter, 1), stderr: direct(directWriter, 2) };
  }
  if (fromScript) {
    // The code cache's loader and the writer, as CommonJS (scripts/build-cli.mjs builds them
    // from src/cli/compile-cache.ts and src/cli/direct-output.ts).
    const { loadScriptCached, directWriter } = require('../dist/bundle/load-script.cjs');
    const loaded = loadScriptCached(path.join(__dirname, '..', 'dist', 'bundle', 'tierguard.cjs'), command, process.env, v8Flags);
    afterRun = loaded.save;
    return { main: loaded.exports.main, stdout: direct(directWriter, 1), stderr: direct(directWriter, 2) };
  }
  return import('../dist/bundle/tierguard.mjs').then((m) => ({ main: m.main, stdout: stdioStream(1), stderr: stdioStream(2) }));
}

/** A writer to descriptor `fd` that falls back to its stream when the descriptor would block. */
const direct = (directWriter, fd) => directWriter(fd, { stream: () => stdioStream(fd), gone: endsQuietlyOnEpipe });

// `tierguard rules | head`: a closed pipe ends the output quietly, like any Unix tool.
const endsQuietlyOnEpipe = (err) => {
  if (err && err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
};
/** The streams this run has written through (the short commands open them only when needed). */
const opened = new Set();
/** process.stdout or process.stderr, opened (its getter creates it) with the handler above. */
function stdioStream(fd) {
  const stream = fd === 1 ? process.stdout : process.stderr;
  if (!opened.has(stream)) {
    opened.add(stream);
    stream.on('error', endsQuietlyOnEpipe);
  }
  return stream;
}

// A failure to load is reported like any other internal error (a thrown require included).
Promise.resolve()
  .then(loadMain)
  .then(({ main, stdout, stderr }) => main(process.argv.slice(2), { stdout, stderr, cwd: process.cwd(), env: process.env }))
  .then(
    (code) => {
      process.exitCode = code;
      afterRun();
      // The commands run from the scripts leave nothing behind once they have answered (no timer,
      // socket or file still open): exit as soon as the output is out, without tearing the heap
      // down piece by piece (lint on CMake's pipeline: 5-7% of its wall time on Node 20, 22, 24).
      if (fromScript || light) exitOnceFlushed(code);
    },
    (err) => {
      stdioStream(2).write(`tierguard: internal error: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 2;
    },
  );

/** process.exit once the streams written through hold no unwritten output (a slow pipe may still). */
function exitOnceFlushed(code) {
  const pending = [...opened].filter((s) => s.writableLength > 0);
  if (pending.length === 0) process.exit(code);
  let left = pending.length;
  for (const s of pending) s.once('drain', () => --left === 0 && process.exit(code));
}
